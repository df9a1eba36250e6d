//! `hookhost-wit-c`: the two WebAssembly steps of building a C handler.
//!
//! * `bindgen <wit-dir> <out-dir>`: C bindings for the `handler` world, as
//!   `wit-bindgen c` writes them (`handler.h`, `handler.c`,
//!   `handler_component_type.o`).
//! * `component <core.wasm> <out.wasm>`: wraps a `wasm32-wasi` (preview 1)
//!   core module built with `-mexec-model=reactor` into a component, adapting
//!   its WASI calls to WASI 0.2 with wasmtime's preview-1 reactor adapter, as
//!   `wasm-tools component new --adapt` does.
//!
//! It exists so that building the C example needs only Debian's clang and
//! this workspace, not two CLIs compiled from crates.io (minutes each). The
//! libraries are the ones those CLIs are made of, at the same versions.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use wit_bindgen_core::wit_parser::Resolve;
use wit_component::ComponentEncoder;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes C bindings for a world of a WIT package.
    Bindgen {
        /// The WIT directory (hookhost's `wit/`).
        wit: PathBuf,
        /// Where to write the `.h`, `.c` and `_component_type.o` files.
        out_dir: PathBuf,
        /// The world.
        #[arg(long, default_value = "handler")]
        world: String,
    },
    /// Turns a reactor core module into a component.
    Component {
        /// The core module (`clang --target=wasm32-wasi -mexec-model=reactor` output,
        /// linked with the generated `_component_type.o`).
        core: PathBuf,
        /// The component to write.
        out: PathBuf,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Bindgen {
            wit,
            out_dir,
            world,
        } => bindgen(&wit, &out_dir, &world),
        Command::Component { core, out } => component(&core, &out),
    }
}

fn bindgen(wit: &std::path::Path, out_dir: &std::path::Path, world: &str) -> Result<()> {
    let mut resolve = Resolve::default();
    let (pkg, _) = resolve
        .push_dir(wit)
        .with_context(|| format!("reading WIT from {}", wit.display()))?;
    let world = resolve.select_world(&[pkg], Some(world))?;
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)?;
    std::fs::create_dir_all(out_dir)?;
    for (name, contents) in files.iter() {
        let path = out_dir.join(name);
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn component(core: &std::path::Path, out: &std::path::Path) -> Result<()> {
    let module = std::fs::read(core).with_context(|| format!("reading {}", core.display()))?;
    let bytes = ComponentEncoder::default()
        .validate(true)
        .module(&module)?
        .adapter(
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .encode()?;
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
