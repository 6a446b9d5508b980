//! polars' expression-plugin interface (polars-ffi 0.1, the one polars
//! 1.43 calls), written over arrow-rs' C data interface so that the package
//! needs no polars crates: the symbols polars looks up in the library,
//! columns in and out as Arrow arrays, errors through a thread-local
//! message. Everything unsafe in the package is here; [`crate::plugin`] does
//! the work in safe Rust.
//!
//! The contract, per call of `_polars_plugin_<name>`:
//! - the inputs are `input_len` exported columns; the plugin owns them: it
//!   moves each chunk out (arrow-rs releases it when the array is dropped)
//!   and calls the column's `release`;
//! - on success the plugin writes one exported column to `return_value`;
//!   polars moves the chunks out and calls its `release`, which frees the
//!   rest; on failure it leaves `return_value` empty and sets the message
//!   that `_polars_plugin_get_last_error_message` returns;
//! - nothing unwinds across the boundary: a panic becomes the error
//!   "the plugin panicked: …".

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CString};
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use arrow::array::{make_array, Array, ArrayRef};
use arrow::datatypes::Field;
use arrow::ffi::{from_ffi_and_data_type, to_ffi, FFI_ArrowArray, FFI_ArrowSchema};

use crate::plugin::{self, TagKwargs};

/// polars-ffi's exported column: its field and its chunks.
#[repr(C)]
pub struct SeriesExport {
    field: *mut FFI_ArrowSchema,
    arrays: *mut *mut FFI_ArrowArray,
    len: usize,
    release: Option<unsafe extern "C" fn(*mut SeriesExport)>,
    private_data: *mut c_void,
}

/// How polars calls the plugin (bit 0: polars runs it in parallel itself).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct CallerContext {
    bitflags: u64,
}

/// polars-ffi's version, major << 16 | minor: 0.1.
const VERSION: u32 = 1;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let message = CString::new(message.replace('\0', "\u{fffd}")).unwrap_or_default();
    LAST_ERROR.with(|last| *last.borrow_mut() = message);
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    format!("the plugin panicked: {what}")
}

/// Runs `body`, turning an error or a panic into the last error message.
fn guarded(body: impl FnOnce() -> Result<(), String>) {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {}
        Ok(Err(message)) => set_last_error(&message),
        Err(payload) => set_last_error(&panic_message(payload.as_ref())),
    }
}

#[no_mangle]
pub extern "C" fn _polars_plugin_get_version() -> u32 {
    VERSION
}

#[no_mangle]
pub extern "C" fn _polars_plugin_get_last_error_message() -> *const c_char {
    // Valid until this thread's next error.
    LAST_ERROR.with(|last| last.borrow().as_ptr())
}

/// Takes the column polars exported: its field, and its chunks as arrow-rs
/// arrays; releases the container.
///
/// # Safety
/// `export` points to a valid exported column that nobody else releases.
unsafe fn import_column(export: *mut SeriesExport) -> Result<(Field, Vec<ArrayRef>), String> {
    let mut export = ptr::read(export);
    // Move every chunk out first, so that each is released once whatever fails.
    let chunks: Vec<FFI_ArrowArray> = if export.arrays.is_null() {
        Vec::new()
    } else {
        std::slice::from_raw_parts(export.arrays, export.len)
            .iter()
            .map(|&chunk| ptr::read(chunk))
            .collect()
    };
    let field = if export.field.is_null() {
        Err("polars passed a column without a field".to_string())
    } else {
        Field::try_from(&*export.field).map_err(|e| format!("reading a column's field: {e}"))
    };
    if let Some(release) = export.release {
        release(&mut export);
    }
    let field = field?;
    let arrays = chunks
        .into_iter()
        .map(|chunk| {
            from_ffi_and_data_type(chunk, field.data_type().clone())
                .map(make_array)
                .map_err(|e| format!("column '{}': {e}", field.name()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((field, arrays))
}

/// What [`release_column`] frees: the field and the chunks' boxes.
struct Exported {
    field: Box<FFI_ArrowSchema>,
    arrays: Vec<*mut FFI_ArrowArray>,
}

/// Frees an exported column once polars has moved its chunks out.
unsafe extern "C" fn release_column(export: *mut SeriesExport) {
    let Some(export) = export.as_mut() else {
        return;
    };
    if export.private_data.is_null() {
        return;
    }
    let exported = Box::from_raw(export.private_data as *mut Exported);
    for &chunk in &exported.arrays {
        // polars took the chunk itself (and releases it): free the box only.
        drop(Box::from_raw(chunk as *mut ManuallyDrop<FFI_ArrowArray>));
    }
    drop(exported);
    export.private_data = ptr::null_mut();
    export.release = None;
}

/// Exports one array as a column for polars.
fn export_column(field: &Field, array: &ArrayRef) -> Result<SeriesExport, String> {
    let schema = FFI_ArrowSchema::try_from(field).map_err(|e| e.to_string())?;
    let (chunk, _) = to_ffi(&array.to_data()).map_err(|e| e.to_string())?;
    let mut exported = Box::new(Exported {
        field: Box::new(schema),
        arrays: vec![Box::into_raw(Box::new(chunk))],
    });
    Ok(SeriesExport {
        field: exported.field.as_mut() as *mut FFI_ArrowSchema,
        arrays: exported.arrays.as_mut_ptr(),
        len: exported.arrays.len(),
        release: Some(release_column),
        private_data: Box::into_raw(exported) as *mut c_void,
    })
}

fn kwargs(ptr: *const u8, len: usize) -> Result<TagKwargs, String> {
    if ptr.is_null() || len == 0 {
        return Err("ner_toolkit.polars.tag needs its options (model=…)".into());
    }
    // SAFETY: polars passes `len` bytes of pickled options at `ptr`.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    serde_pickle::from_slice(bytes, Default::default())
        .map_err(|e| format!("the options of ner_toolkit.polars.tag: {e}"))
}

/// The output field of `tag` for the given input fields.
///
/// # Safety
/// polars' contract: `fields` holds `len` valid schemas it keeps owning;
/// `return_value` is writable.
#[no_mangle]
pub unsafe extern "C" fn _polars_plugin_field_tag(
    fields: *mut FFI_ArrowSchema,
    len: usize,
    return_value: *mut FFI_ArrowSchema,
    _kwargs_ptr: *const u8,
    _kwargs_len: usize,
) {
    guarded(|| {
        let inputs = if fields.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(fields, len)
                .iter()
                .map(|schema| Field::try_from(schema).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?
        };
        let field = plugin::output_field(&inputs)?;
        let schema = FFI_ArrowSchema::try_from(&field).map_err(|e| e.to_string())?;
        ptr::write(return_value, schema);
        Ok(())
    })
}

/// `tag` over the input columns.
///
/// # Safety
/// polars' contract: `inputs` holds `input_len` exported columns handed to
/// the plugin, `kwargs_ptr` `kwargs_len` bytes, `return_value` an empty
/// column to fill.
#[no_mangle]
pub unsafe extern "C" fn _polars_plugin_tag(
    inputs: *mut SeriesExport,
    input_len: usize,
    kwargs_ptr: *const u8,
    kwargs_len: usize,
    return_value: *mut SeriesExport,
    _context: *mut CallerContext,
) {
    guarded(|| {
        let mut columns = Vec::with_capacity(input_len);
        for i in 0..input_len {
            columns.push(import_column(inputs.add(i)));
        }
        let columns = columns.into_iter().collect::<Result<Vec<_>, _>>()?;
        let (field, chunks) = columns
            .first()
            .ok_or("ner_toolkit.polars.tag takes one column of tokens")?;
        let options = kwargs(kwargs_ptr, kwargs_len)?;
        let tags = plugin::tag(field, chunks, &options)?;
        let out = plugin::output_field(std::slice::from_ref(field))?;
        let export = export_column(&out, &tags)?;
        ptr::write(return_value, export);
        Ok(())
    })
}
