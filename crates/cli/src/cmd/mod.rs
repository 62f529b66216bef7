//! One module per subcommand: its arguments and what it prints.

pub(crate) mod backend;
pub(crate) mod capacity;
pub(crate) mod decode;
pub(crate) mod emulator;
pub(crate) mod env;
pub(crate) mod generate;
pub(crate) mod produce;
pub(crate) mod run;
pub(crate) mod shell;
pub(crate) mod stats;
pub(crate) mod verify;
