//! Object versions, as S3 Versioning keeps them ("Retaining multiple versions of objects with S3
//! Versioning", "Working with objects in a versioning-enabled bucket", "…in a versioning-suspended
//! bucket", Amazon S3 User Guide): what a write or a delete does to a key's versions, and which
//! version a request names. The current object of a key lives in the store; this holds the rest.
//!
//! - Unversioned bucket: a write replaces the object, a delete removes it; the version id is `null`.
//! - Enabled: every write gets a new version id and the previous object becomes noncurrent; a
//!   delete without a version id adds a delete marker (with its own id) as the latest version.
//! - Suspended: writes and delete markers get the `null` version id, replacing the key's earlier
//!   `null` version wherever it is; versions with ids stay.
//! - A delete naming a version removes it for good; when that was the current object, the newest
//!   remaining version becomes current again unless it is a delete marker.

use time::OffsetDateTime;

/// The `null` version id of objects written while versioning was off or suspended.
pub(crate) const NULL_VERSION: &str = "null";

/// A bucket's versioning state, from its `PutBucketVersioning` status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Versioning {
    Unversioned,
    Enabled,
    Suspended,
}

impl Versioning {
    pub(crate) fn of(status: Option<&str>) -> Versioning {
        match status {
            None => Versioning::Unversioned,
            Some("Enabled") => Versioning::Enabled,
            Some(_) => Versioning::Suspended,
        }
    }
}

/// An object that carries a version id (`None` is the `null` version).
pub(crate) trait Versioned {
    fn version_id(&self) -> Option<&str>;
}

/// A noncurrent version of a key, or a delete marker.
#[derive(Debug, Clone)]
pub(crate) enum Version<O> {
    Object(O),
    DeleteMarker { version_id: Option<String>, last_modified: OffsetDateTime },
}

impl<O: Versioned> Version<O> {
    pub(crate) fn version_id(&self) -> Option<&str> {
        match self {
            Version::Object(object) => object.version_id(),
            Version::DeleteMarker { version_id, .. } => version_id.as_deref(),
        }
    }
}

/// A fresh version id: 32 URL-safe characters, as opaque as S3's.
pub(crate) fn new_version_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The version id a new version gets under `versioning`: a fresh one when versioning is enabled,
/// `null` (`None`) otherwise.
pub(crate) fn id_for_write(versioning: Versioning) -> Option<String> {
    (versioning == Versioning::Enabled).then(new_version_id)
}

/// Whether `id` (a request's `versionId`) names a version whose id is `version_id`.
pub(crate) fn names(id: &str, version_id: Option<&str>) -> bool {
    version_id.map_or(id == NULL_VERSION, |version_id| version_id == id)
}

/// The noncurrent versions and delete markers of one key, oldest first. The last entry is the
/// key's latest version only when the key has no current object (it is then a delete marker).
#[derive(Debug, Clone)]
pub(crate) struct History<O> {
    pub(crate) entries: Vec<Version<O>>,
}

impl<O> Default for History<O> {
    fn default() -> History<O> {
        History { entries: Vec::new() }
    }
}

impl<O: Versioned> History<O> {
    /// Moves the key's `current` object aside for a new version (object or delete marker) under
    /// `versioning`.
    fn displace(&mut self, versioning: Versioning, current: Option<O>) {
        match versioning {
            Versioning::Unversioned => {}
            Versioning::Enabled => self.entries.extend(current.map(Version::Object)),
            Versioning::Suspended => {
                // The new version is the `null` one: the old `null` version goes, wherever it is.
                self.entries.retain(|entry| entry.version_id().is_some());
                self.entries
                    .extend(current.filter(|object| object.version_id().is_some()).map(Version::Object));
            }
        }
    }

    /// A write of a new current object (whose id [`id_for_write`] gave) in place of `current`.
    pub(crate) fn write(&mut self, versioning: Versioning, current: Option<O>) {
        self.displace(versioning, current);
    }

    /// A delete without a version id; returns the delete marker's version id, or `None` when the
    /// bucket is unversioned and the object is simply gone.
    pub(crate) fn delete(
        &mut self,
        versioning: Versioning,
        current: Option<O>,
        now: OffsetDateTime,
    ) -> Option<Option<String>> {
        if versioning == Versioning::Unversioned {
            return None;
        }
        self.displace(versioning, current);
        let version_id = id_for_write(versioning);
        self.entries.push(Version::DeleteMarker { version_id: version_id.clone(), last_modified: now });
        Some(version_id)
    }

    /// Removes the noncurrent version or delete marker `id`, if there is one.
    pub(crate) fn remove(&mut self, id: &str) -> Option<Version<O>> {
        let index = self.entries.iter().position(|entry| names(id, entry.version_id()))?;
        Some(self.entries.remove(index))
    }

    /// After the current object was removed: the newest version becomes current again, unless it
    /// is a delete marker (or there is none).
    pub(crate) fn promote(&mut self) -> Option<O> {
        match self.entries.pop()? {
            Version::Object(object) => Some(object),
            marker @ Version::DeleteMarker { .. } => {
                self.entries.push(marker);
                None
            }
        }
    }

    /// The version `id`, if it is noncurrent or a delete marker.
    pub(crate) fn get(&self, id: &str) -> Option<&Version<O>> {
        self.entries.iter().find(|entry| names(id, entry.version_id()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Obj(&'static str, Option<String>);

    impl Versioned for Obj {
        fn version_id(&self) -> Option<&str> {
            self.1.as_deref()
        }
    }

    fn ids(history: &History<Obj>) -> Vec<Option<String>> {
        history.entries.iter().map(|entry| entry.version_id().map(str::to_owned)).collect()
    }

    #[test]
    fn enabled_buckets_keep_every_version_and_delete_with_markers() {
        let mut history = History::default();
        let first = id_for_write(Versioning::Enabled).expect("an id");
        history.write(Versioning::Enabled, None);
        let second = id_for_write(Versioning::Enabled).expect("an id");
        history.write(Versioning::Enabled, Some(Obj("v1", Some(first.clone()))));
        assert_ne!(first, second);
        assert_eq!(ids(&history), [Some(first.clone())]);
        let marker = history.delete(
            Versioning::Enabled,
            Some(Obj("v2", Some(second.clone()))),
            OffsetDateTime::UNIX_EPOCH,
        );
        let marker = marker.expect("a delete marker").expect("with an id");
        assert_eq!(ids(&history), [Some(first.clone()), Some(second.clone()), Some(marker.clone())]);
        // The marker is the latest version: nothing is promoted past it.
        assert_eq!(history.promote(), None);
        assert!(matches!(history.remove(&marker), Some(Version::DeleteMarker { .. })));
        assert_eq!(history.promote(), Some(Obj("v2", Some(second))), "removing the marker brings v2 back");
    }

    #[test]
    fn suspended_buckets_replace_the_null_version_and_keep_the_others() {
        let mut history = History::default();
        let kept = id_for_write(Versioning::Enabled).unwrap();
        assert_eq!(id_for_write(Versioning::Suspended), None);
        history.write(Versioning::Suspended, Some(Obj("v1", Some(kept.clone()))));
        // A second write while suspended replaces the null version: it is not kept.
        history.write(Versioning::Suspended, Some(Obj("null-1", None)));
        assert_eq!(ids(&history), [Some(kept.clone())]);
        let marker =
            history.delete(Versioning::Suspended, Some(Obj("null-2", None)), OffsetDateTime::UNIX_EPOCH);
        assert_eq!(marker, Some(None), "a null delete marker");
        assert_eq!(ids(&history), [Some(kept), None]);
        assert!(history.get(NULL_VERSION).is_some());
        assert_eq!(history.delete(Versioning::Unversioned, None, OffsetDateTime::UNIX_EPOCH), None);
    }
}
