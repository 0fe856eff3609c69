//! Catching up with a restored server, at the start of each sync step. A
//! server restored from a backup has lost what it acknowledged after the
//! backup, which this phone dropped from its outbox; it still holds it in
//! its merge states. The server's database carries an identity that a
//! restore renews (`fieldbook_core::replay`): on seeing a new one, the
//! phone sends every change it holds to the replay route (the server
//! applies each once), then moves its pull cursor back to at most the head
//! the restored database had and takes on the identity, in one
//! transaction. A step that fails anywhere leaves the old identity stored,
//! so the next sync does it all again, which applies nothing twice.

use fieldbook_core::replay::{
    DatabaseIdentity, IdentityStep, ReplayRequest, ReplayResponse, identity_step, replay_batches,
    replay_changes,
};

use super::{PUSH_BATCH, Session, SyncError, get, post};

/// Asks the server for its database's identity (started with the step's
/// first read, so the two overlap).
pub(super) async fn identity(session: Session) -> Result<DatabaseIdentity, SyncError> {
    get(&session, "/api/v1/sync/identity").await
}
use crate::storage::Store;

/// Checks the server's identity and, when it is new, replays and moves the
/// cursor. Returns whether it was new (the cursor may have moved).
pub(super) async fn catch_up_after_restore(
    store: &Store,
    session: &Session,
    seen: DatabaseIdentity,
) -> Result<bool, SyncError> {
    let stored = store.server_identity(&session.server).await?;
    let cursor = store.pull_cursor(&session.server).await?;
    match identity_step(stored, &seen, cursor) {
        IdentityStep::Same => Ok(false),
        IdentityStep::Adopt => {
            store
                .take_on_identity(&session.server, seen.database, None)
                .await?;
            Ok(false)
        }
        IdentityStep::Recover {
            replay,
            resume_cursor,
        } => {
            let mut held = 0;
            if replay {
                let changes = replay_changes(store.held_states().await?.iter());
                for batch in replay_batches(changes, PUSH_BATCH) {
                    let answer: Result<ReplayResponse, _> = post(
                        &session.url("/api/v1/sync/replay"),
                        Some(&session.token),
                        &ReplayRequest { changes: batch },
                    )
                    .await;
                    match answer {
                        Ok(answer) => {
                            held += answer.accepted.len();
                            for rejection in &answer.rejected {
                                web_sys::console::warn_1(
                                    &format!(
                                        "replay: change {} of {} refused: {}",
                                        rejection.change.seq,
                                        rejection.change.device.0,
                                        rejection.reason
                                    )
                                    .into(),
                                );
                            }
                        }
                        // The window closed meanwhile: what is left stays
                        // on this phone, and sync goes on as usual.
                        Err((409, _)) => break,
                        Err((401, _)) => return Err(SyncError::SessionExpired),
                        Err((_, e)) => return Err(e),
                    }
                }
            }
            store
                .take_on_identity(&session.server, seen.database, Some(resume_cursor))
                .await?;
            web_sys::console::info_1(
                &format!(
                    "the server's database is new (restored): {held} changes sent back, \
                     pulling again from {resume_cursor}"
                )
                .into(),
            );
            Ok(true)
        }
    }
}
