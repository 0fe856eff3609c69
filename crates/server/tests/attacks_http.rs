//! Attacks on the connections themselves, against the real binary over raw
//! TCP: a client that sends half a request head and waits (slowloris), an
//! idle keep-alive connection, more connections than the cap, and the same
//! header timeout before a TLS handshake. Normal requests still work
//! beside each. The database plays no part here, so SQLite only.
#![cfg(unix)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Long enough for any busy machine; the asserted events happen long before.
const PATIENCE: Duration = Duration::from_secs(120);

/// The server process, killed when the test ends, however it ends.
struct Server {
    child: Child,
    address: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary on a free port with `args` added; with `tls`, on a
/// self-signed certificate.
fn start(args: &[&str], tls: bool) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>Fieldbook</title>",
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_fieldbook-server"));
    command
        .env_remove("FIELDBOOK_DATABASE_URL")
        .env_remove("FIELDBOOK_SERVER_KEY")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--dist")
        .arg(&dist)
        .args(["--host", "127.0.0.1", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped());
    if tls {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert_pem = dir.path().join("cert.pem");
        let key_pem = dir.path().join("key.pem");
        std::fs::write(&cert_pem, cert.cert.pem()).unwrap();
        std::fs::write(&key_pem, cert.signing_key.serialize_pem()).unwrap();
        command
            .arg("--tls-cert")
            .arg(&cert_pem)
            .arg("--tls-key")
            .arg(&key_pem);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let address = line
        .trim()
        .strip_prefix("Fieldbook is running on ")
        .and_then(|rest| rest.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/').parse().unwrap())
        .unwrap_or_else(|| {
            let _ = child.kill();
            panic!("no address in {line:?}")
        });
    Server {
        child,
        address,
        _dir: dir,
    }
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.address).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
}

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: fieldbook\r\n\r\n";

/// Reads one answer (head and a `Content-Length` body) off a kept-alive
/// connection; returns its status line.
fn read_answer(stream: &mut TcpStream) -> String {
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    assert!(reader.buffer().is_empty(), "one answer at a time");
    status.trim().to_string()
}

/// A whole request on a new connection, answered.
fn one_request(server: &Server) -> String {
    let mut stream = connect(server);
    stream.write_all(REQUEST).unwrap();
    read_answer(&mut stream)
}

/// Reads until the server closes the connection; returns what came. A
/// connection still open after [`PATIENCE`] fails the test.
fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return got,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("the connection is still open after {PATIENCE:?}")
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn a_request_head_sent_slowly_is_cut_off_and_others_are_served() {
    let server = start(&["--header-timeout", "1"], false);
    let mut slow = connect(&server);
    slow.write_all(b"GET / HTTP/1.1\r\nHost: fieldbook\r\nX-Slow: ")
        .unwrap();
    let got = read_until_closed(&mut slow);
    // Nothing was served to it (at most a refusal).
    assert!(
        !String::from_utf8_lossy(&got).contains("200 OK"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(one_request(&server), "HTTP/1.1 200 OK");
}

#[test]
fn a_connection_that_sends_nothing_is_closed() {
    let server = start(&["--header-timeout", "1"], false);
    let mut silent = connect(&server);
    assert!(read_until_closed(&mut silent).is_empty());
    assert_eq!(one_request(&server), "HTTP/1.1 200 OK");
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_its_answer() {
    let server = start(&["--header-timeout", "1"], false);
    let mut stream = connect(&server);
    stream.write_all(REQUEST).unwrap();
    assert_eq!(read_answer(&mut stream), "HTTP/1.1 200 OK");
    // Kept alive, then idle: closed, not held.
    assert!(read_until_closed(&mut stream).is_empty());
}

#[test]
fn keep_alive_serves_several_requests_in_time() {
    let server = start(&[], false);
    let mut stream = connect(&server);
    for _ in 0..3 {
        stream.write_all(REQUEST).unwrap();
        assert_eq!(read_answer(&mut stream), "HTTP/1.1 200 OK");
    }
}

#[test]
fn connections_beyond_the_cap_wait_until_one_closes() {
    let server = start(
        &["--max-connections", "2", "--header-timeout", "600"],
        false,
    );
    // Two connections, served and kept open: the cap is reached.
    let mut first = connect(&server);
    let mut second = connect(&server);
    for stream in [&mut first, &mut second] {
        stream.write_all(REQUEST).unwrap();
        assert_eq!(read_answer(stream), "HTTP/1.1 200 OK");
    }
    // A third is not served while they stay open…
    let mut third = connect(&server);
    third.write_all(REQUEST).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut byte = [0u8; 1];
    match third.read(&mut byte) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("a connection beyond the cap was served: {other:?}"),
    }
    // …and is, once one of them closes.
    drop(first);
    third.set_read_timeout(Some(PATIENCE)).unwrap();
    assert_eq!(read_answer(&mut third), "HTTP/1.1 200 OK");
    // The second is still served on its connection.
    second.write_all(REQUEST).unwrap();
    assert_eq!(read_answer(&mut second), "HTTP/1.1 200 OK");
}

#[test]
fn over_tls_a_connection_that_never_handshakes_is_closed() {
    let server = start(&["--header-timeout", "1"], true);
    let mut silent = connect(&server);
    assert!(read_until_closed(&mut silent).is_empty());
    // Half a TLS record, then nothing: closed too.
    let mut half = connect(&server);
    half.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    read_until_closed(&mut half);
}

#[test]
fn bad_flag_values_are_refused_with_a_reason() {
    for args in [
        ["--header-timeout", "0"],
        ["--max-connections", "0"],
        ["--header-timeout", "soon"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_fieldbook-server"))
            .env_remove("FIELDBOOK_DATABASE_URL")
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(args[0]), "{args:?}: {stderr}");
    }
}
