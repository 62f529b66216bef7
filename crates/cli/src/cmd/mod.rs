//! One module per subcommand: its arguments and what it prints.

pub(crate) mod run;
