//! Embeds every `schemas/*.json` of the workspace into the crate, so the server binary
//! needs no schema files at run time.

use std::env;
use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let schemas_dir = manifest_dir.join("..").join("..").join("schemas");
    println!("cargo:rerun-if-changed={}", schemas_dir.display());

    let mut files = Vec::new();
    for entry in fs::read_dir(&schemas_dir)? {
        let path = entry?.path();
        if path.extension().and_then(|ext| ext.to_str()) != Some("json") {
            continue;
        }
        let Some(stem) = path.file_stem().and_then(|stem| stem.to_str()) else {
            continue;
        };
        files.push((stem.to_string(), fs::canonicalize(&path)?));
    }
    files.sort();

    let mut out = String::from(
        "/// Every embedded schema as (name = file stem, JSON text), sorted by name.\n\
         pub(crate) static EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for (stem, path) in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let path = path.to_str().ok_or("schema path is not UTF-8")?;
        writeln!(out, "    ({stem:?}, include_str!({path:?})),")?;
    }
    out.push_str("];\n");

    let out_path = PathBuf::from(env::var("OUT_DIR")?).join("embedded_schemas.rs");
    fs::write(out_path, out)?;
    Ok(())
}
