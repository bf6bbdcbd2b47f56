//! Safe owners of librados and librbd handles.
//!
//! This is the only place in m2 with `unsafe` code for Ceph. Every call here
//! blocks (network round trips to monitors and OSDs); callers run them on
//! tokio's blocking pool. Errors are the negative errno values librados and
//! librbd return, kept with the name of the call that failed.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::fmt;
use std::marker::PhantomData;
use std::ptr;
use std::sync::Arc;

use rados_sys as rados;
use rbd_sys as rbd;

/// A failed librados or librbd call: its name and the (positive) errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CephError {
    /// The C function that failed, e.g. `"rbd_open"`.
    pub op: &'static str,
    /// The errno it returned, made positive (`libc::ENOENT`, ...).
    pub errno: i32,
}

impl CephError {
    fn new(op: &'static str, ret: impl Into<i64>) -> Self {
        let ret = ret.into();
        CephError {
            op,
            errno: i32::try_from(ret.unsigned_abs()).unwrap_or(i32::MAX),
        }
    }
}

impl fmt::Display for CephError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed: {}",
            self.op,
            std::io::Error::from_raw_os_error(self.errno)
        )
    }
}

impl std::error::Error for CephError {}

/// Result of the calls in this module.
pub type CephResult<T> = Result<T, CephError>;

/// Turns a C return code into a result: negative is an error.
fn check(op: &'static str, ret: c_int) -> CephResult<c_int> {
    if ret < 0 {
        Err(CephError::new(op, ret))
    } else {
        Ok(ret)
    }
}

/// A C string for a name; an interior NUL is `EINVAL`.
fn cstr(op: &'static str, s: &str) -> CephResult<CString> {
    CString::new(s).map_err(|_| CephError {
        op,
        errno: libc::EINVAL,
    })
}

/// Copies a C string owned by librados or librbd; NULL gives "".
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for this call.
unsafe fn owned(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: the caller guarantees a valid NUL-terminated string.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// How to reach the cluster.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// ceph.conf path.
    pub conffile: String,
    /// Full cephx name, `client.<id>`.
    pub name: String,
    /// Keyring path, if not the one ceph.conf names.
    pub keyring: Option<String>,
    /// Seconds to wait for the monitors.
    pub connect_timeout: u64,
    /// Seconds a monitor or OSD request may take, 0 for no limit.
    pub op_timeout: u64,
}

/// A connected cluster handle (`rados_t`), shut down on drop.
pub struct Rados {
    handle: rados::rados_t,
}

// SAFETY: a librados cluster handle is thread-safe once connected: librados
// serialises its own state, and its documentation allows sharing one handle
// between threads. The handle is only configured (rados_conf_*) before it is
// shared, inside `connect`.
unsafe impl Send for Rados {}
// SAFETY: see `Send`; every method takes `&self` and only makes calls that
// librados allows concurrently on a connected handle.
unsafe impl Sync for Rados {}

impl Rados {
    /// Creates a handle, reads the configuration and connects.
    pub fn connect(opts: &ConnectOptions) -> CephResult<Rados> {
        let cluster = cstr("rados_create2", "ceph")?;
        let name = cstr("rados_create2", &opts.name)?;
        let mut handle: rados::rados_t = ptr::null_mut();
        // SAFETY: `handle` is a valid out-pointer; both strings are valid
        // NUL-terminated strings that live across the call.
        check("rados_create2", unsafe {
            rados::rados_create2(&mut handle, cluster.as_ptr(), name.as_ptr(), 0)
        })?;
        // From here on `rados` owns the handle and shuts it down on error.
        let rados = Rados { handle };
        let conffile = cstr("rados_conf_read_file", &opts.conffile)?;
        // SAFETY: the handle is valid and not connected; the path is a valid
        // C string.
        check("rados_conf_read_file", unsafe {
            rados::rados_conf_read_file(rados.handle, conffile.as_ptr())
        })?;
        if let Some(keyring) = &opts.keyring {
            rados.conf_set("keyring", keyring)?;
        }
        let connect = opts.connect_timeout.to_string();
        rados.conf_set("client_mount_timeout", &connect)?;
        let op = opts.op_timeout.to_string();
        rados.conf_set("rados_mon_op_timeout", &op)?;
        rados.conf_set("rados_osd_op_timeout", &op)?;
        // SAFETY: the handle is valid, configured and not yet connected.
        check("rados_connect", unsafe {
            rados::rados_connect(rados.handle)
        })?;
        Ok(rados)
    }

    /// Sets one configuration option; only called before connecting.
    fn conf_set(&self, option: &str, value: &str) -> CephResult<()> {
        let o = cstr("rados_conf_set", option)?;
        let v = cstr("rados_conf_set", value)?;
        // SAFETY: valid handle (not yet shared with other threads) and valid
        // C strings.
        check("rados_conf_set", unsafe {
            rados::rados_conf_set(self.handle, o.as_ptr(), v.as_ptr())
        })?;
        Ok(())
    }

    /// Whether the pool exists.
    pub fn pool_exists(&self, pool: &str) -> CephResult<bool> {
        let p = cstr("rados_pool_lookup", pool)?;
        // SAFETY: valid connected handle and C string.
        let id = unsafe { rados::rados_pool_lookup(self.handle, p.as_ptr()) };
        match id {
            id if id >= 0 => Ok(true),
            id if id == -i64::from(libc::ENOENT) => Ok(false),
            id => Err(CephError::new("rados_pool_lookup", id)),
        }
    }

    /// An I/O context on a pool; keeps the cluster handle alive.
    pub fn ioctx(self: &Arc<Self>, pool: &str) -> CephResult<IoCtx> {
        let p = cstr("rados_ioctx_create", pool)?;
        let mut handle: rados::rados_ioctx_t = ptr::null_mut();
        // SAFETY: valid connected handle, C string and out-pointer.
        check("rados_ioctx_create", unsafe {
            rados::rados_ioctx_create(self.handle, p.as_ptr(), &mut handle)
        })?;
        Ok(IoCtx {
            handle,
            _rados: Arc::clone(self),
        })
    }
}

impl Drop for Rados {
    fn drop(&mut self) {
        // SAFETY: the handle came from rados_create2 and is shut down once;
        // every IoCtx holds an Arc to this value, so none is left.
        unsafe { rados::rados_shutdown(self.handle) }
    }
}

/// An I/O context on one pool (`rados_ioctx_t`), destroyed on drop.
pub struct IoCtx {
    handle: rados::rados_ioctx_t,
    /// The cluster must outlive the context.
    _rados: Arc<Rados>,
}

// SAFETY: an io context may be used from any thread; it is not `Sync`
// because librados does not allow changing its settings concurrently (this
// module never changes them, but one thread at a time keeps that obvious).
unsafe impl Send for IoCtx {}

impl Drop for IoCtx {
    fn drop(&mut self) {
        // SAFETY: created by rados_ioctx_create, destroyed once; images
        // opened on it borrow it, so none is open any more.
        unsafe { rados::rados_ioctx_destroy(self.handle) }
    }
}

/// librbd image creation options (`rbd_image_options_t`), all defaults.
struct ImageOptions(rbd::rbd_image_options_t);

impl ImageOptions {
    fn new() -> Self {
        let mut opts: rbd::rbd_image_options_t = ptr::null_mut();
        // SAFETY: valid out-pointer; the call cannot fail.
        unsafe { rbd::rbd_image_options_create(&mut opts) };
        ImageOptions(opts)
    }
}

impl Drop for ImageOptions {
    fn drop(&mut self) {
        // SAFETY: created by rbd_image_options_create, destroyed once.
        unsafe { rbd::rbd_image_options_destroy(self.0) }
    }
}

/// The parent of a clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentSpec {
    /// Pool of the parent image.
    pub pool: String,
    /// Name of the parent image.
    pub image: String,
    /// Snapshot of the parent the clone was made from.
    pub snap: String,
}

/// A clone of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSpec {
    /// Pool of the clone.
    pub pool: String,
    /// Name of the clone.
    pub image: String,
    /// Whether the clone is in the trash.
    pub trash: bool,
}

/// A snapshot of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapSpec {
    /// Snapshot name.
    pub name: String,
    /// Image size when the snapshot was taken.
    pub size: u64,
}

impl IoCtx {
    /// Names of the images in the pool.
    pub fn list_images(&self) -> CephResult<Vec<String>> {
        let mut capacity = 16usize;
        loop {
            let mut specs: Vec<rbd::rbd_image_spec_t> = Vec::with_capacity(capacity);
            let mut count = capacity;
            // SAFETY: `specs` has room for `count` entries (never a NULL
            // pointer: capacity >= 1); librbd fills at most that many.
            let ret = unsafe { rbd::rbd_list2(self.handle, specs.as_mut_ptr(), &mut count) };
            if ret == -libc::ERANGE {
                capacity = count.max(capacity * 2);
                continue;
            }
            check("rbd_list2", ret)?;
            // SAFETY: on success librbd initialised the first `count`
            // entries (count <= capacity).
            unsafe { specs.set_len(count) };
            let names = specs
                .iter()
                // SAFETY: librbd strdup'ed each name.
                .map(|s| unsafe { owned(s.name) })
                .collect();
            // SAFETY: frees the strings of exactly the entries librbd filled.
            unsafe { rbd::rbd_image_spec_list_cleanup(specs.as_mut_ptr(), count) };
            return Ok(names);
        }
    }

    /// Creates an image with the cluster's default format and features.
    pub fn create(&self, name: &str, size: u64) -> CephResult<()> {
        let n = cstr("rbd_create4", name)?;
        let opts = ImageOptions::new();
        // SAFETY: valid io context, C string and options handle.
        check("rbd_create4", unsafe {
            rbd::rbd_create4(self.handle, n.as_ptr(), size, opts.0)
        })?;
        Ok(())
    }

    /// Clones `parent@snap` (in `parent_io`'s pool) as `child` in this pool.
    pub fn clone_from(
        &self,
        parent_io: &IoCtx,
        parent: &str,
        snap: &str,
        child: &str,
    ) -> CephResult<()> {
        let p = cstr("rbd_clone3", parent)?;
        let s = cstr("rbd_clone3", snap)?;
        let c = cstr("rbd_clone3", child)?;
        let opts = ImageOptions::new();
        // SAFETY: both io contexts are valid; strings and options live
        // across the call.
        check("rbd_clone3", unsafe {
            rbd::rbd_clone3(
                parent_io.handle,
                p.as_ptr(),
                s.as_ptr(),
                self.handle,
                c.as_ptr(),
                opts.0,
            )
        })?;
        Ok(())
    }

    /// Removes an image (librbd refuses one with snapshots or watchers).
    pub fn remove(&self, name: &str) -> CephResult<()> {
        let n = cstr("rbd_remove", name)?;
        // SAFETY: valid io context and C string.
        check("rbd_remove", unsafe {
            rbd::rbd_remove(self.handle, n.as_ptr())
        })?;
        Ok(())
    }

    /// Renames an image within the pool.
    pub fn rename(&self, from: &str, to: &str) -> CephResult<()> {
        let f = cstr("rbd_rename", from)?;
        let t = cstr("rbd_rename", to)?;
        // SAFETY: valid io context and C strings.
        check("rbd_rename", unsafe {
            rbd::rbd_rename(self.handle, f.as_ptr(), t.as_ptr())
        })?;
        Ok(())
    }

    /// Opens an image, or one of its snapshots. A writable open registers a
    /// watch on the image for as long as it is open; a read-only one does
    /// not.
    pub fn open(&self, name: &str, snap: Option<&str>, read_only: bool) -> CephResult<Image<'_>> {
        let op = if read_only {
            "rbd_open_read_only"
        } else {
            "rbd_open"
        };
        let n = cstr(op, name)?;
        let s = snap.map(|s| cstr(op, s)).transpose()?;
        let s_ptr = s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        let mut handle: rbd::rbd_image_t = ptr::null_mut();
        // SAFETY: valid io context, C strings (or NULL for no snapshot) and
        // out-pointer.
        let ret = unsafe {
            if read_only {
                rbd::rbd_open_read_only(self.handle, n.as_ptr(), &mut handle, s_ptr)
            } else {
                rbd::rbd_open(self.handle, n.as_ptr(), &mut handle, s_ptr)
            }
        };
        check(op, ret)?;
        Ok(Image {
            handle,
            _io: PhantomData,
        })
    }
}

/// An open image (`rbd_image_t`), closed on drop. Borrows its io context.
pub struct Image<'io> {
    handle: rbd::rbd_image_t,
    _io: PhantomData<&'io IoCtx>,
}

// SAFETY: an open librbd image may be used from any thread (librbd locks its
// image context internally); it is not `Sync`, so one thread at a time.
unsafe impl Send for Image<'_> {}

impl Drop for Image<'_> {
    fn drop(&mut self) {
        // SAFETY: opened by rbd_open*, closed once. A close error cannot be
        // acted on here; librbd has released the handle either way.
        unsafe { rbd::rbd_close(self.handle) };
    }
}

/// rbd_diff_iterate2 callback: adds the length of allocated extents.
unsafe extern "C" fn add_allocated(
    _ofs: u64,
    len: usize,
    exists: c_int,
    arg: *mut c_void,
) -> c_int {
    if exists != 0 {
        // SAFETY: `arg` is the `&mut u64` passed by `allocated_bytes`, live
        // for the whole (synchronous) iteration and used by no one else.
        let total = unsafe { &mut *arg.cast::<u64>() };
        *total += len as u64;
    }
    0
}

impl Image<'_> {
    /// Size in bytes.
    pub fn size(&self) -> CephResult<u64> {
        let mut size = 0u64;
        // SAFETY: valid image and out-pointer.
        check("rbd_get_size", unsafe {
            rbd::rbd_get_size(self.handle, &mut size)
        })?;
        Ok(size)
    }

    /// The parent snapshot, for a clone that is not flattened.
    pub fn parent(&self) -> CephResult<Option<ParentSpec>> {
        // SAFETY: both structs are plain C data for which all-zero is a
        // valid (empty) value; librbd fills them.
        let mut image: rbd::rbd_linked_image_spec_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut snap: rbd::rbd_snap_spec_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid image and out-pointers.
        let ret = unsafe { rbd::rbd_get_parent(self.handle, &mut image, &mut snap) };
        if ret == -libc::ENOENT {
            return Ok(None);
        }
        check("rbd_get_parent", ret)?;
        // SAFETY: on success librbd strdup'ed these strings.
        let parent = unsafe {
            ParentSpec {
                pool: owned(image.pool_name),
                image: owned(image.image_name),
                snap: owned(snap.name),
            }
        };
        // SAFETY: frees what rbd_get_parent allocated, once.
        unsafe {
            rbd::rbd_linked_image_spec_cleanup(&mut image);
            rbd::rbd_snap_spec_cleanup(&mut snap);
        }
        Ok(Some(parent))
    }

    /// Bytes in the objects this image itself has allocated (not counting
    /// its parent), at object granularity, like `rbd du`.
    pub fn allocated_bytes(&self) -> CephResult<u64> {
        let size = self.size()?;
        let mut total = 0u64;
        // SAFETY: valid image; the callback only touches `total`, which
        // outlives the synchronous call.
        check("rbd_diff_iterate2", unsafe {
            rbd::rbd_diff_iterate2(
                self.handle,
                ptr::null(),
                0,
                size,
                0,
                1,
                Some(add_allocated),
                (&mut total as *mut u64).cast(),
            )
        })?;
        Ok(total)
    }

    /// Grows or shrinks the image.
    pub fn resize(&self, size: u64, allow_shrink: bool) -> CephResult<()> {
        // SAFETY: valid image; no progress callback.
        check("rbd_resize2", unsafe {
            rbd::rbd_resize2(self.handle, size, allow_shrink, None, ptr::null_mut())
        })?;
        Ok(())
    }

    /// The image's snapshots, oldest first.
    pub fn snaps(&self) -> CephResult<Vec<SnapSpec>> {
        let mut capacity: c_int = 16;
        loop {
            let slots = usize::try_from(capacity).unwrap_or(16);
            let mut infos: Vec<rbd::rbd_snap_info_t> = Vec::with_capacity(slots);
            let mut max = capacity;
            // SAFETY: `infos` has room for `max` entries.
            let ret = unsafe { rbd::rbd_snap_list(self.handle, infos.as_mut_ptr(), &mut max) };
            if ret == -libc::ERANGE {
                capacity = max.max(capacity * 2);
                continue;
            }
            let count = usize::try_from(check("rbd_snap_list", ret)?).unwrap_or(0);
            // SAFETY: librbd filled `count` entries plus a terminating one
            // (count + 1 <= capacity, or it would have returned -ERANGE).
            unsafe { infos.set_len(count + 1) };
            let snaps = infos[..count]
                .iter()
                .map(|i| SnapSpec {
                    // SAFETY: librbd strdup'ed each name.
                    name: unsafe { owned(i.name) },
                    size: i.size,
                })
                .collect();
            // SAFETY: frees the names up to the terminating entry, once.
            unsafe { rbd::rbd_snap_list_end(infos.as_mut_ptr()) };
            return Ok(snaps);
        }
    }

    /// Whether the snapshot is protected.
    pub fn snap_is_protected(&self, snap: &str) -> CephResult<bool> {
        let s = cstr("rbd_snap_is_protected", snap)?;
        let mut protected: c_int = 0;
        // SAFETY: valid image, C string and out-pointer.
        check("rbd_snap_is_protected", unsafe {
            rbd::rbd_snap_is_protected(self.handle, s.as_ptr(), &mut protected)
        })?;
        Ok(protected != 0)
    }

    /// Creates a snapshot.
    pub fn snap_create(&self, snap: &str) -> CephResult<()> {
        let s = cstr("rbd_snap_create", snap)?;
        // SAFETY: valid image and C string.
        check("rbd_snap_create", unsafe {
            rbd::rbd_snap_create(self.handle, s.as_ptr())
        })?;
        Ok(())
    }

    /// Protects a snapshot (required before cloning it).
    pub fn snap_protect(&self, snap: &str) -> CephResult<()> {
        let s = cstr("rbd_snap_protect", snap)?;
        // SAFETY: valid image and C string.
        check("rbd_snap_protect", unsafe {
            rbd::rbd_snap_protect(self.handle, s.as_ptr())
        })?;
        Ok(())
    }

    /// Unprotects a snapshot (librbd refuses while it has clones).
    pub fn snap_unprotect(&self, snap: &str) -> CephResult<()> {
        let s = cstr("rbd_snap_unprotect", snap)?;
        // SAFETY: valid image and C string.
        check("rbd_snap_unprotect", unsafe {
            rbd::rbd_snap_unprotect(self.handle, s.as_ptr())
        })?;
        Ok(())
    }

    /// Removes a snapshot (librbd refuses a protected one).
    pub fn snap_remove(&self, snap: &str) -> CephResult<()> {
        let s = cstr("rbd_snap_remove", snap)?;
        // SAFETY: valid image and C string.
        check("rbd_snap_remove", unsafe {
            rbd::rbd_snap_remove(self.handle, s.as_ptr())
        })?;
        Ok(())
    }

    /// The clones of the snapshot this image was opened at.
    pub fn children(&self) -> CephResult<Vec<ChildSpec>> {
        let mut capacity = 16usize;
        loop {
            let mut specs: Vec<rbd::rbd_linked_image_spec_t> = Vec::with_capacity(capacity);
            let mut count = capacity;
            // SAFETY: `specs` has room for `count` entries.
            let ret =
                unsafe { rbd::rbd_list_children3(self.handle, specs.as_mut_ptr(), &mut count) };
            if ret == -libc::ERANGE {
                capacity = count.max(capacity * 2);
                continue;
            }
            check("rbd_list_children3", ret)?;
            // SAFETY: on success librbd initialised `count` entries.
            unsafe { specs.set_len(count) };
            let children = specs
                .iter()
                .map(|s| ChildSpec {
                    // SAFETY: librbd strdup'ed these strings.
                    pool: unsafe { owned(s.pool_name) },
                    // SAFETY: as above.
                    image: unsafe { owned(s.image_name) },
                    trash: s.trash,
                })
                .collect();
            // SAFETY: frees exactly the entries librbd filled, once.
            unsafe { rbd::rbd_linked_image_spec_list_cleanup(specs.as_mut_ptr(), count) };
            return Ok(children);
        }
    }

    /// Copies the parent's data into the image and detaches it.
    pub fn flatten(&self) -> CephResult<()> {
        // SAFETY: valid image.
        check("rbd_flatten", unsafe { rbd::rbd_flatten(self.handle) })?;
        Ok(())
    }

    /// Addresses of the clients watching the image (those that have it open
    /// for writing, such as tgtd).
    pub fn watchers(&self) -> CephResult<Vec<String>> {
        let mut capacity = 8usize;
        loop {
            let mut list: Vec<rbd::rbd_image_watcher_t> = Vec::with_capacity(capacity);
            let mut count = capacity;
            // SAFETY: `list` has room for `count` entries.
            let ret = unsafe { rbd::rbd_watchers_list(self.handle, list.as_mut_ptr(), &mut count) };
            if ret == -libc::ERANGE {
                capacity = count.max(capacity * 2);
                continue;
            }
            check("rbd_watchers_list", ret)?;
            // SAFETY: on success librbd initialised `count` entries.
            unsafe { list.set_len(count) };
            // SAFETY: librbd strdup'ed each address.
            let addrs = list.iter().map(|w| unsafe { owned(w.addr) }).collect();
            // SAFETY: frees exactly the entries librbd filled, once.
            unsafe { rbd::rbd_watchers_list_cleanup(list.as_mut_ptr(), count) };
            return Ok(addrs);
        }
    }
}
