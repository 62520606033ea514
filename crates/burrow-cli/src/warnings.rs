//! Warnings, as people and engines see them: every `tracing` event at
//! WARN (or ERROR) goes to stderr as `burrow: warning: ...` and, with
//! `--log`, into the log file as a line of level `warning`, where engines
//! look for what to show. (With `--debug`, the full trace goes to stderr
//! instead.)

use std::path::PathBuf;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

use crate::cli::LogFormat;

/// Send warnings to stderr and to `log` from now on.
pub fn install(log: Option<(PathBuf, LogFormat)>) {
    let _ = tracing::subscriber::set_global_default(Warnings { log });
}

/// Append one line of `level` to the `--log` file, as engines read it.
pub fn log_line(path: &std::path::Path, format: LogFormat, level: &str, message: &str) {
    let time = burrow_oci::state::now_rfc3339();
    let line = match format {
        LogFormat::Json => serde_json::json!({"level": level, "msg": message, "time": time}).to_string(),
        LogFormat::Text => format!("time=\"{time}\" level={level} msg={message:?}"),
    };
    let file = std::fs::OpenOptions::new().create(true).append(true).open(path);
    if let Ok(mut file) = file {
        let _ = std::io::Write::write_all(&mut file, format!("{line}\n").as_bytes());
    }
}

/// The subscriber: warnings and errors only, no spans.
struct Warnings {
    log: Option<(PathBuf, LogFormat)>,
}

/// An event's message, with its other fields after it.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = if field.name() == "message" {
            format!("{value:?}")
        } else {
            format!("{}={value:?}", field.name())
        };
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(&text);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }
}

impl Subscriber for Warnings {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.enabled(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && *metadata.level() <= Level::WARN
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::WARN)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut message = Message::default();
        event.record(&mut message);
        let level = if *event.metadata().level() == Level::ERROR {
            "error"
        } else {
            "warning"
        };
        eprintln!("burrow: {level}: {}", message.0);
        if let Some((path, format)) = &self.log {
            log_line(path, *format, level, &message.0);
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
