//! What each socket's session said when last read, so a signal does not cost a session-store
//! read. The session store announces every write ([`crate::hub::SessionChanged`]), which drops
//! the views of that session's sockets.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use socketioxide::socket::Sid;

use crate::session::{SessionTag, SessionView};

/// How long a socket's cached session view is trusted without a change notice: the notices keep
/// it right; this bounds the damage of a notice lost on the way (a hub that lagged, a partition).
const VIEW_MAX_AGE: Duration = Duration::from_secs(10);

#[derive(Default)]
pub(crate) struct ViewCache {
    /// Bumped by every change notice; a read that raced one is not cached.
    pub(crate) epoch: u64,
    /// Each socket's view, when it was read, and its session's tag.
    views: HashMap<Sid, (SessionView, Instant, SessionTag)>,
    /// The sockets with a view, by session.
    sockets: HashMap<SessionTag, HashSet<Sid>>,
}

impl ViewCache {
    /// The socket's view, unless it is older than [`VIEW_MAX_AGE`].
    pub(crate) fn get(&self, sid: Sid) -> Option<SessionView> {
        let (view, at, _) = self.views.get(&sid)?;
        (at.elapsed() < VIEW_MAX_AGE).then(|| view.clone())
    }

    /// Caches the view just read of the socket's session, replacing any earlier one.
    pub(crate) fn insert(&mut self, sid: Sid, tag: SessionTag, view: SessionView) {
        self.forget_socket(sid);
        self.views.insert(sid, (view, Instant::now(), tag));
        self.sockets.entry(tag).or_default().insert(sid);
    }

    /// Drops one socket's view. Found by its tag rather than by scanning every session, since
    /// each link and each disconnect calls this, on nodes holding 10,000 sockets.
    pub(crate) fn forget_socket(&mut self, sid: Sid) {
        let Some((_, _, tag)) = self.views.remove(&sid) else {
            return;
        };
        if let Some(sids) = self.sockets.get_mut(&tag) {
            sids.remove(&sid);
            if sids.is_empty() {
                self.sockets.remove(&tag);
            }
        }
    }

    /// Drops the views of one session's sockets.
    pub(crate) fn forget_session(&mut self, tag: &SessionTag) {
        for sid in self.sockets.remove(tag).unwrap_or_default() {
            self.views.remove(&sid);
        }
    }

    /// Drops every view.
    pub(crate) fn clear(&mut self) {
        self.views.clear();
        self.sockets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(wallet: &str) -> SessionView {
        SessionView {
            wallet: Some(wallet.into()),
            request_id: None,
        }
    }

    fn wallet_of(cache: &ViewCache, sid: Sid) -> Option<String> {
        cache.get(sid).and_then(|v| v.wallet)
    }

    #[test]
    fn a_socket_or_a_session_is_forgotten_alone() {
        let mut cache = ViewCache::default();
        let (a, b, c) = (Sid::new(), Sid::new(), Sid::new());
        cache.insert(a, [1; 16], view("first"));
        cache.insert(b, [1; 16], view("first"));
        cache.insert(c, [2; 16], view("second"));

        cache.forget_socket(a);
        assert_eq!(wallet_of(&cache, a), None);
        assert_eq!(wallet_of(&cache, b).as_deref(), Some("first"));

        cache.forget_session(&[1; 16]);
        assert_eq!(wallet_of(&cache, b), None);
        assert_eq!(wallet_of(&cache, c).as_deref(), Some("second"));
        assert_eq!(cache.sockets.len(), 1, "only the other session is listed");
    }

    #[test]
    fn a_socket_whose_session_changed_leaves_its_old_session() {
        let mut cache = ViewCache::default();
        let sid = Sid::new();
        cache.insert(sid, [1; 16], view("before"));
        cache.insert(sid, [2; 16], view("after"));
        assert!(!cache.sockets.contains_key(&[1; 16]));

        // A notice for the old session no longer drops the socket's new view.
        cache.forget_session(&[1; 16]);
        assert_eq!(wallet_of(&cache, sid).as_deref(), Some("after"));
        cache.forget_socket(sid);
        assert!(cache.sockets.is_empty() && cache.views.is_empty());
    }
}
