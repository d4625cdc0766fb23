//! A small safe wrapper over the PROJ C API (proj-sys, linked to the system PROJ 9.1).
//!
//! This is the only module with `unsafe`. Why not the `proj` crate's `Proj`: its `Debug` prints the
//! operation definition (our pipelines carry secret parameters), its `Drop` calls the global
//! `proj_cleanup()` (racy when several rayon workers hold PROJ objects), its array conversion copies
//! every coordinate into a temporary buffer and reports failures without the failing index.
//!
//! Invariants:
//! - every PROJ object is created in, used with and destroyed before its own context;
//! - a context logs nothing (`PJ_LOG_NONE`): PROJ's own stderr messages could quote a definition;
//! - a [`Pj`] is used by one thread at a time (it is neither `Send` nor `Sync`, raw pointers).
// FFI to PROJ is inherently unsafe; every block below says which pointer invariant it relies on.
#![allow(unsafe_code)]

use geo_types::Coord;
use proj_sys as ffi;
use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int};
use std::ptr::{self, NonNull};

/// A PROJ failure, with PROJ's generic error text (never the definition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PjError(pub String);

/// Direction of a transformation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Forward,
    Inverse,
}

impl Direction {
    fn raw(self) -> ffi::PJ_DIRECTION {
        match self {
            Direction::Forward => ffi::PJ_DIRECTION_PJ_FWD,
            Direction::Inverse => ffi::PJ_DIRECTION_PJ_INV,
        }
    }
}

/// Copy a C string owned by PROJ; `None` for null. Invalid UTF-8 is replaced, not an error.
///
/// # Safety
/// `p` is null or points to a NUL-terminated string that stays valid during the call.
unsafe fn opt_string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: non-null and NUL-terminated per the function contract
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// A PROJ threading context that logs nothing.
pub(crate) struct Context(NonNull<ffi::PJ_CONTEXT>);

impl Context {
    pub(crate) fn new() -> Result<Context, PjError> {
        // SAFETY: plain constructor; a null return is handled
        let raw = unsafe { ffi::proj_context_create() };
        let ctx =
            NonNull::new(raw).ok_or_else(|| PjError("cannot create a PROJ context".into()))?;
        // SAFETY: ctx is a live context
        unsafe { ffi::proj_log_level(ctx.as_ptr(), ffi::PJ_LOG_LEVEL_PJ_LOG_NONE) };
        Ok(Context(ctx))
    }

    fn raw(&self) -> *mut ffi::PJ_CONTEXT {
        self.0.as_ptr()
    }

    /// The context's current error as text.
    fn error(&self) -> PjError {
        // SAFETY: live context; the returned string is static or owned by the context
        let msg = unsafe {
            let code = ffi::proj_context_errno(self.raw());
            opt_string(ffi::proj_context_errno_string(self.raw(), code))
        };
        PjError(msg.unwrap_or_else(|| "unknown PROJ error".into()))
    }

    /// Create an object (CRS, operation) from a definition, without keeping a reference to `def`.
    pub(crate) fn create(&self, def: &str) -> Result<Obj<'_>, PjError> {
        let c = CString::new(def).map_err(|_| PjError("definition contains a NUL byte".into()))?;
        // SAFETY: live context, NUL-terminated definition; null is handled
        let raw = unsafe { ffi::proj_create(self.raw(), c.as_ptr()) };
        match NonNull::new(raw) {
            Some(p) => Ok(Obj { ctx: self, ptr: p }),
            None => Err(self.error()),
        }
    }

    fn wrap(&self, raw: *mut ffi::PJ) -> Option<Obj<'_>> {
        NonNull::new(raw).map(|p| Obj { ctx: self, ptr: p })
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: every Obj borrowing this context is gone (lifetime), and Pj destroys its PJ first
        unsafe { ffi::proj_context_destroy(self.raw()) };
    }
}

/// A PROJ object borrowed from a [`Context`], destroyed on drop.
pub(crate) struct Obj<'c> {
    ctx: &'c Context,
    ptr: NonNull<ffi::PJ>,
}

impl Obj<'_> {
    fn raw(&self) -> *mut ffi::PJ {
        self.ptr.as_ptr()
    }

    pub(crate) fn name(&self) -> Option<String> {
        // SAFETY: live object; the string is owned by it and copied at once
        unsafe { opt_string(ffi::proj_get_name(self.raw())) }
    }

    /// First identifier as `("EPSG", "4548")`.
    pub(crate) fn id(&self) -> Option<(String, String)> {
        // SAFETY: live object; strings owned by it and copied at once
        unsafe {
            let auth = opt_string(ffi::proj_get_id_auth_name(self.raw(), 0))?;
            let code = opt_string(ffi::proj_get_id_code(self.raw(), 0))?;
            Some((auth, code))
        }
    }

    pub(crate) fn is_crs(&self) -> bool {
        // SAFETY: live object
        unsafe { ffi::proj_is_crs(self.raw()) != 0 }
    }

    pub(crate) fn is_projected(&self) -> bool {
        // SAFETY: live object
        unsafe { ffi::proj_get_type(self.raw()) == ffi::PJ_TYPE_PJ_TYPE_PROJECTED_CRS }
    }

    /// PROJ-string form (PROJ 5 style), `None` if the object cannot be expressed as one.
    pub(crate) fn proj_string(&self) -> Option<String> {
        // SAFETY: live context and object; the result is owned by the object and copied at once
        unsafe {
            opt_string(ffi::proj_as_proj_string(
                self.ctx.raw(),
                self.raw(),
                ffi::PJ_PROJ_STRING_TYPE_PJ_PROJ_5,
                ptr::null(),
            ))
        }
    }

    /// The geodetic (geographic) CRS a projected CRS is based on.
    pub(crate) fn geodetic_crs(&self) -> Option<Obj<'_>> {
        // SAFETY: live context and object; null is handled
        self.ctx
            .wrap(unsafe { ffi::proj_crs_get_geodetic_crs(self.ctx.raw(), self.raw()) })
    }

    /// The datum (or the datum of an ensemble).
    pub(crate) fn datum(&self) -> Option<Obj<'_>> {
        // SAFETY: live context and object; null is handled
        self.ctx
            .wrap(unsafe { ffi::proj_crs_get_datum_forced(self.ctx.raw(), self.raw()) })
    }

    /// Semi-major axis (m) and inverse flattening (0 for a sphere).
    pub(crate) fn ellipsoid(&self) -> Option<(f64, f64)> {
        // SAFETY: live context and object; null is handled
        let ell = self
            .ctx
            .wrap(unsafe { ffi::proj_get_ellipsoid(self.ctx.raw(), self.raw()) })?;
        let (mut a, mut b, mut computed, mut rf) = (0.0f64, 0.0f64, 0 as c_int, 0.0f64);
        // SAFETY: live ellipsoid object; out-pointers point to locals
        let ok = unsafe {
            ffi::proj_ellipsoid_get_parameters(
                self.ctx.raw(),
                ell.raw(),
                &mut a,
                &mut b,
                &mut computed,
                &mut rf,
            )
        };
        (ok != 0).then_some((a, rf))
    }

    /// The same CRS with easting/longitude first (as shapefiles and `.prj` files use it).
    pub(crate) fn normalized(&self) -> Option<Obj<'_>> {
        // SAFETY: live context and object; the result is a new object (null handled)
        self.ctx
            .wrap(unsafe { ffi::proj_normalize_for_visualization(self.ctx.raw(), self.raw()) })
    }

    /// Equivalent definitions (names and identifiers ignored).
    pub(crate) fn equivalent(&self, other: &Obj<'_>) -> bool {
        // SAFETY: both objects are live; PROJ only reads them
        unsafe {
            ffi::proj_is_equivalent_to_with_ctx(
                self.ctx.raw(),
                self.raw(),
                other.raw(),
                ffi::PJ_COMPARISON_CRITERION_PJ_COMP_EQUIVALENT,
            ) != 0
        }
    }

    /// EPSG candidates for this CRS with PROJ's confidence (0-100), best first.
    pub(crate) fn identify(&self) -> Vec<Candidate> {
        let auth = c"EPSG";
        let mut conf: *mut c_int = ptr::null_mut();
        // SAFETY: live context and object; `conf` receives an array owned by us (freed below)
        let list = unsafe {
            ffi::proj_identify(
                self.ctx.raw(),
                self.raw(),
                auth.as_ptr(),
                ptr::null(),
                &mut conf,
            )
        };
        let mut out = Vec::new();
        if list.is_null() {
            if !conf.is_null() {
                // SAFETY: allocated by proj_identify
                unsafe { ffi::proj_int_list_destroy(conf) };
            }
            return out;
        }
        // SAFETY: list is a live result list
        let n = unsafe { ffi::proj_list_get_count(list) };
        for i in 0..n {
            // SAFETY: 0 <= i < n; each element is destroyed when `obj` drops
            let Some(obj) = self
                .ctx
                .wrap(unsafe { ffi::proj_list_get(self.ctx.raw(), list, i) })
            else {
                continue;
            };
            let confidence = if conf.is_null() {
                0
            } else {
                // SAFETY: proj_identify returns one confidence per list element
                unsafe { *conf.add(i as usize) }
            };
            if let Some((auth, code)) = obj.id() {
                out.push(Candidate {
                    auth,
                    code,
                    name: obj.name().unwrap_or_default(),
                    confidence,
                });
            }
        }
        // SAFETY: both allocated by proj_identify, not used afterwards
        unsafe {
            if !conf.is_null() {
                ffi::proj_int_list_destroy(conf);
            }
            ffi::proj_list_destroy(list);
        }
        out.sort_by_key(|c| std::cmp::Reverse(c.confidence));
        out
    }
}

impl Drop for Obj<'_> {
    fn drop(&mut self) {
        // SAFETY: the object was created in self.ctx, which outlives it
        unsafe { ffi::proj_destroy(self.raw()) };
    }
}

/// One `proj_identify` match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub auth: String,
    pub code: String,
    pub name: String,
    pub confidence: c_int,
}

/// Facts about an operation object (`proj_pj_info`). `definition` may hold secret parameters:
/// it is only inspected, never returned to callers outside this crate.
#[derive(Clone)]
pub(crate) struct OpInfo {
    pub description: Option<String>,
    pub definition: Option<String>,
    pub has_inverse: bool,
    pub accuracy: f64,
}

/// A coordinate that PROJ could not transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TransFailure {
    /// index in the slice passed to the call
    pub index: usize,
    pub message: String,
}

/// A coordinate operation with its own context. Not `Send`/`Sync`: one per worker thread.
pub(crate) struct Pj {
    // declared before `ctx` is irrelevant: Drop below destroys the PJ first, explicitly
    pj: NonNull<ffi::PJ>,
    ctx: Context,
}

impl Pj {
    /// An operation from a PROJ string (a pipeline).
    pub(crate) fn from_definition(def: &str) -> Result<Pj, PjError> {
        let ctx = Context::new()?;
        let obj = ctx.create(def)?;
        let pj = obj.ptr;
        std::mem::forget(obj); // ownership of the PJ moves to Pj, which destroys it in Drop
        Ok(Pj { pj, ctx })
    }

    /// The operation PROJ itself chooses between two CRSs, axes normalised to easting first.
    pub(crate) fn crs_to_crs(src: &str, dst: &str) -> Result<Pj, PjError> {
        let ctx = Context::new()?;
        let s = CString::new(src).map_err(|_| PjError("CRS contains a NUL byte".into()))?;
        let d = CString::new(dst).map_err(|_| PjError("CRS contains a NUL byte".into()))?;
        // SAFETY: live context, NUL-terminated strings, null area allowed
        let raw = unsafe {
            ffi::proj_create_crs_to_crs(ctx.raw(), s.as_ptr(), d.as_ptr(), ptr::null_mut())
        };
        let op = ctx.wrap(raw).ok_or_else(|| ctx.error())?;
        // SAFETY: live context and operation; the result is a new object (null handled)
        let norm = unsafe { ffi::proj_normalize_for_visualization(ctx.raw(), op.raw()) };
        drop(op);
        let pj = NonNull::new(norm).ok_or_else(|| ctx.error())?;
        Ok(Pj { pj, ctx })
    }

    pub(crate) fn info(&self) -> OpInfo {
        // SAFETY: live object; strings owned by it and copied at once
        unsafe {
            let i = ffi::proj_pj_info(self.pj.as_ptr());
            OpInfo {
                description: opt_string(i.description),
                definition: opt_string(i.definition),
                has_inverse: i.has_inverse != 0,
                accuracy: i.accuracy,
            }
        }
    }

    fn errno_message(&self) -> String {
        // SAFETY: live object and context
        let msg = unsafe {
            let code = ffi::proj_errno(self.pj.as_ptr());
            if code == 0 {
                None
            } else {
                opt_string(ffi::proj_context_errno_string(self.ctx.raw(), code))
            }
        };
        msg.unwrap_or_else(|| "coordinate outside the domain of the operation".into())
    }

    /// Transform easting/northing pairs in place with one PROJ call (heights taken as 0).
    pub(crate) fn trans_coords(
        &self,
        coords: &mut [Coord<f64>],
        dir: Direction,
    ) -> Result<(), TransFailure> {
        if coords.is_empty() {
            return Ok(());
        }
        let n = coords.len();
        let stride = std::mem::size_of::<Coord<f64>>();
        let base = coords.as_mut_ptr();
        // SAFETY: base points to n Coord<f64>; x and y pointers are derived from the whole-slice
        // pointer, so striding by size_of::<Coord>() stays inside the slice; z and t are absent
        // (PROJ then uses constants), the PJ is live and used by this thread only.
        unsafe {
            ffi::proj_errno_reset(self.pj.as_ptr());
            let xp = ptr::addr_of_mut!((*base).x);
            let yp = ptr::addr_of_mut!((*base).y);
            ffi::proj_trans_generic(
                self.pj.as_ptr(),
                dir.raw(),
                xp,
                stride,
                n,
                yp,
                stride,
                n,
                ptr::null_mut(),
                0,
                0,
                ptr::null_mut(),
                0,
                0,
            );
        }
        match coords
            .iter()
            .position(|c| !c.x.is_finite() || !c.y.is_finite())
        {
            None => Ok(()),
            Some(index) => Err(TransFailure {
                index,
                message: self.errno_message(),
            }),
        }
    }

    /// Transform separate x/y/z arrays of equal length in place (used by fitting and tests).
    pub(crate) fn trans_xyz(
        &self,
        x: &mut [f64],
        y: &mut [f64],
        z: &mut [f64],
        dir: Direction,
    ) -> Result<(), TransFailure> {
        let n = x.len();
        if y.len() != n || z.len() != n {
            return Err(TransFailure {
                index: 0,
                message: "x, y and z arrays differ in length".into(),
            });
        }
        if n == 0 {
            return Ok(());
        }
        let s = std::mem::size_of::<f64>();
        // SAFETY: three distinct slices of n f64 each, contiguous (stride 8); live PJ, this thread
        unsafe {
            ffi::proj_errno_reset(self.pj.as_ptr());
            ffi::proj_trans_generic(
                self.pj.as_ptr(),
                dir.raw(),
                x.as_mut_ptr(),
                s,
                n,
                y.as_mut_ptr(),
                s,
                n,
                z.as_mut_ptr(),
                s,
                n,
                ptr::null_mut(),
                0,
                0,
            );
        }
        let bad = (0..n).find(|&i| !x[i].is_finite() || !y[i].is_finite() || !z[i].is_finite());
        match bad {
            None => Ok(()),
            Some(index) => Err(TransFailure {
                index,
                message: self.errno_message(),
            }),
        }
    }
}

impl Drop for Pj {
    fn drop(&mut self) {
        // SAFETY: the PJ was created in self.ctx and is destroyed before it (ctx drops after this)
        unsafe { ffi::proj_destroy(self.pj.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projected_crs_facts_come_from_the_database() {
        let ctx = Context::new().unwrap();
        let crs = ctx.create("EPSG:2436").unwrap();
        assert!(crs.is_crs() && crs.is_projected());
        assert_eq!(crs.id(), Some(("EPSG".into(), "2436".into())));
        let ps = crs.proj_string().unwrap();
        assert!(
            ps.contains("+proj=tmerc") && ps.contains("+lon_0=117"),
            "{ps}"
        );
        let (a, rf) = crs.ellipsoid().unwrap();
        assert_eq!((a, rf), (6378245.0, 298.3));
        let geod = crs.geodetic_crs().unwrap();
        assert_eq!(geod.id(), Some(("EPSG".into(), "4214".into())));
        assert!(crs
            .datum()
            .unwrap()
            .name()
            .unwrap()
            .contains("Beijing 1954"));
    }

    #[test]
    fn unknown_code_and_garbage_fail_cleanly() {
        let ctx = Context::new().unwrap();
        assert!(ctx.create("EPSG:999999").is_err());
        assert!(ctx.create("<html>not a crs</html>").is_err());
        assert!(ctx.create("a\0b").is_err());
        assert!(Pj::from_definition("+proj=pipeline +step +proj=nonsense").is_err());
    }

    #[test]
    fn trans_reports_the_failing_index() {
        // a geographic->tmerc step fails for latitudes beyond 90 degrees
        let pj = Pj::from_definition("+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad +step +proj=tmerc +lon_0=117 +x_0=500000 +ellps=GRS80").unwrap();
        let mut c = vec![
            Coord { x: 117.0, y: 36.0 },
            Coord { x: 117.0, y: 95.0 },
            Coord { x: 117.5, y: 36.0 },
        ];
        let err = pj.trans_coords(&mut c, Direction::Forward).unwrap_err();
        assert_eq!(err.index, 1);
        assert!((c[0].x - 500_000.0).abs() < 1e-6);
        assert!(c[2].x > 540_000.0);
    }
}
