// Fieldbook's service worker: keeps the app shell on the phone so the app
// opens and works with no network.
//
// `cargo xtask build` fills in the two values below from the finished build:
// the list of every file of the shell, and a version derived from their
// contents. A new build therefore yields a byte-different sw.js, which the
// browser installs in the background as a new version.
//
// A new version never takes over by itself: it installs, then waits. The page
// shows "有新版本 — 重新加载"; only the user's tap sends "skip-waiting".
// (A form open in the page must not be interrupted by an update.)

const VERSION = "__FIELDBOOK_VERSION__";
const PRECACHE = [] /*__FIELDBOOK_PRECACHE__*/;
const CACHE_PREFIX = "fieldbook-shell-";
const CACHE = CACHE_PREFIX + VERSION;
const APP_PAGE = "/index.html";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      // `reload` skips the HTTP cache: the shell must be this version's files.
      cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "reload" }))),
    ),
  );
  // No skipWaiting() here: see the comment at the top.
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names
          .filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE)
          .map((name) => caches.delete(name)),
      );
      // On the very first install this lets the open page work offline at
      // once; on an update the user has already asked for the new version.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") {
    self.skipWaiting();
  }
});

// An app route is a path the client-side router owns: no file extension.
function isAppRoute(url) {
  const last = url.pathname.split("/").pop();
  return !last.includes(".");
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  // Other origins and the sync API always go to the network.
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;

  const cached =
    request.mode === "navigate" && isAppRoute(url)
      ? caches.match(APP_PAGE, { cacheName: CACHE })
      : caches.match(request, { cacheName: CACHE, ignoreVary: true });
  event.respondWith(cached.then((response) => response || fetch(request)));
});
