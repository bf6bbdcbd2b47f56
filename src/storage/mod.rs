//! Copy-on-write disk storage: the images nodes boot from and the nodes'
//! disks, linked clones of an image's snapshot.
//!
//! [`DiskStore`] is what the rest of m2 uses; [`rbd::RbdStore`] implements it
//! on Ceph RBD through librbd. Another copy-on-write backend can implement the
//! same trait. Every method is async and never blocks the runtime.

pub mod rbd;

use std::fmt;
use std::path::Path;

use async_trait::async_trait;

use crate::error::{Error, Result};

pub use self::rbd::RbdStore;

/// An image (or disk) in a pool.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageRef {
    /// Pool name.
    pub pool: String,
    /// Image name within the pool.
    pub name: String,
}

impl ImageRef {
    /// `pool/name`.
    pub fn new(pool: impl Into<String>, name: impl Into<String>) -> Self {
        ImageRef {
            pool: pool.into(),
            name: name.into(),
        }
    }

    /// A snapshot of this image.
    pub fn snap(&self, snap: impl Into<String>) -> SnapRef {
        SnapRef {
            image: self.clone(),
            snap: snap.into(),
        }
    }

    /// Checks both names (see [`validate_name`]).
    pub fn validate(&self) -> Result<()> {
        validate_name("pool", &self.pool)?;
        validate_name("image", &self.name)
    }
}

impl fmt::Display for ImageRef {
    /// `pool/name`, the spelling of the rbd tool and of tgtd's backing store.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.pool, self.name)
    }
}

/// A snapshot of an image.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapRef {
    /// The image.
    pub image: ImageRef,
    /// Snapshot name.
    pub snap: String,
}

impl SnapRef {
    /// Checks the three names (see [`validate_name`]).
    pub fn validate(&self) -> Result<()> {
        self.image.validate()?;
        validate_name("snapshot", &self.snap)
    }
}

impl fmt::Display for SnapRef {
    /// `pool/name@snap`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.image, self.snap)
    }
}

/// What [`DiskStore::stat`] reports about an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Provisioned size in bytes.
    pub size: u64,
    /// Bytes the image itself has allocated, not counting data it reads
    /// through from its parent; counted in whole objects, like `rbd du`.
    /// About 0 for a fresh clone.
    pub used: u64,
    /// The snapshot this image is a clone of, until it is flattened.
    pub parent: Option<SnapRef>,
}

/// Longest pool, image or snapshot name accepted.
pub const MAX_NAME_LEN: usize = 255;

/// Checks a pool, image or snapshot name: 1 to [`MAX_NAME_LEN`] bytes of
/// printable ASCII without spaces, `/`, `@`, `,`, `;` or `=`. The last
/// characters separate names in `pool/image@snap` and in tgtd's options.
pub fn validate_name(kind: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b'@' | b',' | b';' | b'='));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid {kind} name {name:?}: expected 1 to {MAX_NAME_LEN} printable ASCII \
             characters without spaces or any of / @ , ; ="
        )))
    }
}

/// A store of copy-on-write block images.
///
/// Errors: [`Error::NotFound`] for a missing pool, image or snapshot,
/// [`Error::Conflict`] when the target exists already or the operation
/// would break something that depends on it (clones, users, snapshots),
/// [`Error::InvalidState`] when it is not allowed in the current state,
/// [`Error::Invalid`] for bad names or sizes, [`Error::Unavailable`] when
/// the backend cannot be reached.
#[async_trait]
pub trait DiskStore: Send + Sync {
    /// Checks that the backend is reachable and its pools exist and can be
    /// listed.
    async fn check(&self) -> Result<()>;
    /// Names of the images in a pool, sorted.
    async fn list(&self, pool: &str) -> Result<Vec<String>>;
    /// Whether an image exists (a missing pool is an error).
    async fn exists(&self, img: &ImageRef) -> Result<bool>;
    /// Size, allocated bytes and parent of an image.
    async fn stat(&self, img: &ImageRef) -> Result<ImageInfo>;
    /// Creates an empty image of `size` bytes.
    async fn create(&self, img: &ImageRef, size: u64) -> Result<()>;
    /// Creates `child` as a copy-on-write clone of `parent`, which must be
    /// protected.
    async fn clone_image(&self, parent: &SnapRef, child: &ImageRef) -> Result<()>;
    /// Removes an image. Refused ([`Error::Conflict`]) while it has
    /// snapshots or users (an iSCSI target exporting it).
    async fn remove(&self, img: &ImageRef) -> Result<()>;
    /// Renames an image within its pool.
    async fn rename(&self, img: &ImageRef, new_name: &str) -> Result<()>;
    /// Grows an image to `size` bytes. Shrinking is refused
    /// ([`Error::Invalid`]): it would discard data.
    async fn resize(&self, img: &ImageRef, size: u64) -> Result<()>;
    /// Creates a snapshot.
    async fn snap_create(&self, s: &SnapRef) -> Result<()>;
    /// Protects a snapshot so that it can be cloned; protecting a protected
    /// snapshot succeeds.
    async fn snap_protect(&self, s: &SnapRef) -> Result<()>;
    /// Unprotects a snapshot; refused while it has clones. Unprotecting an
    /// unprotected snapshot succeeds.
    async fn snap_unprotect(&self, s: &SnapRef) -> Result<()>;
    /// Removes a snapshot; refused while it is protected.
    async fn snap_remove(&self, s: &SnapRef) -> Result<()>;
    /// Snapshots of an image, oldest first, with whether each is protected.
    async fn snap_list(&self, img: &ImageRef) -> Result<Vec<(String, bool)>>;
    /// Clones of a snapshot, sorted.
    async fn children(&self, s: &SnapRef) -> Result<Vec<ImageRef>>;
    /// Copies the parent's data into a clone and detaches it from the
    /// parent; an image without a parent is left as it is.
    async fn flatten(&self, img: &ImageRef) -> Result<()>;
    /// Creates an image from a raw disk image file.
    async fn import(&self, file: &Path, img: &ImageRef) -> Result<()>;
    /// Writes an image to a new raw file (an existing file is refused).
    async fn export(&self, img: &ImageRef, file: &Path) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in [
            "m2-disks",
            "node-1f0e.disk",
            "a",
            "UPPER_lower-1.2",
            &"x".repeat(255),
        ] {
            validate_name("image", good).unwrap();
        }
        for bad in [
            "",
            "a/b",
            "a@b",
            "a b",
            "a,b",
            "a;b",
            "a=b",
            "tab\t",
            "nul\0",
            "é",
            &"x".repeat(256),
        ] {
            let err = validate_name("image", bad).unwrap_err();
            assert!(matches!(err, Error::Invalid(_)), "{bad:?}");
        }
        let img = ImageRef::new("m2-disks", "node-1");
        assert_eq!(img.to_string(), "m2-disks/node-1");
        assert_eq!(img.snap("base").to_string(), "m2-disks/node-1@base");
        img.snap("base").validate().unwrap();
        assert!(img.snap("a@b").validate().is_err());
        assert!(ImageRef::new("p/q", "x").validate().is_err());
    }
}
