//! One module per subcommand: its arguments and what it prints.

pub(crate) mod decode;
pub(crate) mod emulator;
pub(crate) mod produce;
pub(crate) mod run;
pub(crate) mod verify;
