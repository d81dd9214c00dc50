//! Optional OpenTelemetry export: each decision (and each answer to an
//! approval) becomes one OTLP log record shaped like Claude Code's
//! `tool_decision` event, so dashboards built for it count shellgate's
//! decisions too, with the rule that fired added.
//!
//! Configured only by the standard variables (OpenTelemetry
//! specification, "OTLP Exporter Configuration" and "General SDK
//! Configuration"): export is on when `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`
//! or `OTEL_EXPORTER_OTLP_ENDPOINT` is set, or `OTEL_LOGS_EXPORTER`
//! names `otlp`; it is off when `OTEL_SDK_DISABLED=true` or
//! `OTEL_LOGS_EXPORTER` does not name `otlp`. Headers, timeouts and
//! endpoints are read by the `opentelemetry-otlp` crate
//! (`OTEL_EXPORTER_OTLP_[LOGS_]HEADERS`, `…_TIMEOUT` …). The protocol is
//! `http/protobuf` unless `OTEL_EXPORTER_OTLP_[LOGS_]PROTOCOL` says
//! `http/json`; `grpc` is not built in, and is reported rather than
//! silently dropped. With no timeout set, an export waits at most
//! [`DEFAULT_TIMEOUT`], so a collector that is down cannot stall a hook.
//!
//! The record (Claude Code monitoring docs, "Tool decision event"):
//! event name and `event.name` `tool_decision`; `decision` `accept`
//! (allow) or `reject` (ask, deny, a declined approval); `source`
//! `config` (the policy decided), `user_temporary` (a one-time approval)
//! `user_reject` (a declined approval) or `hook` (the hook input was
//! refused); `tool_name`; `session.id`; `event.timestamp`; and
//! `shellgate.rule_id` (the strictest rule that fired),
//! `shellgate.section`, `shellgate.decision` (`allow`/`ask`/`deny`),
//! `shellgate.source`, `shellgate.rules`, `shellgate.mode`,
//! `shellgate.tier`, `shellgate.policy_digest`, `shellgate.duration_us`.
//! The redacted command is added as `shellgate.command` only when
//! `OTEL_LOG_TOOL_DETAILS=1` (Claude Code's switch for tool parameters).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::InstrumentationScope;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{
    LogBatch, LogExporter as _, LogProcessor, SdkLogRecord, SdkLogger, SdkLoggerProvider,
};

use super::{Event, Record};

/// Longest an export waits when no `OTEL_EXPORTER_OTLP_[LOGS_]TIMEOUT`
/// is set (the specification's default of 10 s would stall a hook).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Whether the environment asks for OTLP log export, and with which
/// protocol. `Err` explains a configuration shellgate cannot honour.
fn configured() -> Option<Result<Protocol, String>> {
    if var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return None;
    }
    let exporters = var("OTEL_LOGS_EXPORTER");
    let named = exporters
        .as_deref()
        .map(|e| e.split(',').any(|x| x.trim().eq_ignore_ascii_case("otlp")));
    let endpoint = var("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT").is_some()
        || var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
    match named {
        Some(false) => return None,
        None if !endpoint => return None,
        _ => {}
    }
    let protocol =
        var("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL").or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"));
    Some(match protocol.as_deref().map(str::trim) {
        None | Some("http/protobuf") => Ok(Protocol::HttpBinary),
        Some("http/json") => Ok(Protocol::HttpJson),
        Some(p) => Err(format!(
            "OTEL_EXPORTER_OTLP_PROTOCOL={p:?} is not supported by shellgate; use http/protobuf or http/json (a collector's port 4318)"
        )),
    })
}

/// A log processor that exports each record at once, like the SDK's
/// `SimpleLogProcessor`, but hands the export's result back to the caller
/// instead of the SDK's internal diagnostics.
#[derive(Debug)]
struct Reporting {
    exporter: Mutex<opentelemetry_otlp::LogExporter>,
    last: Arc<Mutex<Option<String>>>,
}

impl LogProcessor for Reporting {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        let result = match self.exporter.lock() {
            Ok(e) => futures_executor::block_on(e.export(LogBatch::new(&[(record, scope)])))
                .map_err(|e| e.to_string()),
            Err(_) => Err("exporter lock poisoned".into()),
        };
        if let Ok(mut last) = self.last.lock() {
            *last = result.err();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        if let Ok(mut e) = self.exporter.lock() {
            e.set_resource(resource);
        }
    }
}

/// An OTLP log exporter for audit records.
pub struct Exporter {
    provider: SdkLoggerProvider,
    logger: SdkLogger,
    last: Arc<Mutex<Option<String>>>,
    details: bool,
}

impl Exporter {
    /// The exporter the environment configures, or `None` when export is
    /// off. A configuration that cannot be honoured (a `grpc` protocol, a
    /// malformed endpoint) is reported on stderr once and gives `None`:
    /// telemetry never blocks a decision.
    pub fn from_env() -> Option<Exporter> {
        let protocol = match configured()? {
            Ok(p) => p,
            Err(e) => {
                eprintln!("shellgate: warning: OpenTelemetry export is off: {e}");
                return None;
            }
        };
        let mut builder = opentelemetry_otlp::LogExporter::builder()
            .with_http()
            .with_protocol(protocol);
        if var("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT").is_none()
            && var("OTEL_EXPORTER_OTLP_TIMEOUT").is_none()
        {
            builder = builder.with_timeout(DEFAULT_TIMEOUT);
        }
        let exporter = match builder.build() {
            Ok(e) => e,
            Err(e) => {
                eprintln!("shellgate: warning: OpenTelemetry export is off: {e}; check OTEL_EXPORTER_OTLP_ENDPOINT");
                return None;
            }
        };
        let mut resource = opentelemetry_sdk::Resource::builder();
        if var("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name("shellgate");
        }
        let last = Arc::new(Mutex::new(None));
        let provider = SdkLoggerProvider::builder()
            .with_log_processor(Reporting {
                exporter: Mutex::new(exporter),
                last: Arc::clone(&last),
            })
            .with_resource(resource.build())
            .build();
        let logger = provider.logger_with_scope(
            InstrumentationScope::builder("shellgate")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
        );
        Some(Exporter {
            provider,
            logger,
            last,
            details: var("OTEL_LOG_TOOL_DETAILS").is_some_and(|v| v.trim() == "1"),
        })
    }

    /// Sends `record` (already redacted) as one log record; `exit`
    /// records are not sent.
    ///
    /// # Errors
    /// The collector could not be reached or refused the record.
    pub fn export(&self, record: &Record) -> Result<(), String> {
        if record.event == Event::Exit {
            return Ok(());
        }
        let mut r = self.logger.create_log_record();
        r.set_event_name("tool_decision");
        r.set_body(AnyValue::from("shellgate.tool_decision"));
        r.set_severity_number(Severity::Info);
        r.set_severity_text("INFO");
        r.set_timestamp(std::time::SystemTime::now());
        for (k, v) in attributes(record, self.details) {
            r.add_attribute(k, v);
        }
        self.logger.emit(r);
        match self.last.lock() {
            Ok(mut last) => last.take().map_or(Ok(()), Err),
            Err(_) => Err("exporter state poisoned".into()),
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

/// The attributes of the `tool_decision` record for `r` (module docs).
pub fn attributes(r: &Record, details: bool) -> Vec<(&'static str, AnyValue)> {
    let (decision, source) = match r.event {
        Event::Approval => {
            let yes = r.approved == Some(true);
            (
                if yes { "accept" } else { "reject" },
                if yes { "user_temporary" } else { "user_reject" },
            )
        }
        _ => (
            if r.decision == "allow" {
                "accept"
            } else {
                "reject"
            },
            match r.source.as_str() {
                "user_approval" => "user_temporary",
                "hook" => "hook",
                _ => "config",
            },
        ),
    };
    let fired = r.fired();
    let mut a: Vec<(&'static str, AnyValue)> = vec![
        ("event.name", "tool_decision".into()),
        ("event.timestamp", r.time.clone().into()),
        ("session.id", r.session.clone().into()),
        ("decision", decision.into()),
        ("source", source.into()),
        (
            "tool_name",
            r.tool.clone().unwrap_or_else(|| "Bash".into()).into(),
        ),
        ("shellgate.decision", r.decision.clone().into()),
        ("shellgate.source", r.source.clone().into()),
        ("shellgate.mode", r.mode.clone().into()),
    ];
    if let Some(f) = fired.first() {
        a.push(("shellgate.rule_id", f.rule.clone().into()));
        a.push(("shellgate.section", f.section.clone().into()));
    }
    if !r.rules.is_empty() {
        a.push(("shellgate.rules", r.rules.join(",").into()));
    }
    for (k, v) in [
        ("shellgate.tier", &r.tier),
        ("shellgate.policy_digest", &r.policy_digest),
    ] {
        if !v.is_empty() {
            a.push((k, v.clone().into()));
        }
    }
    if let Some(h) = &r.harness {
        a.push(("shellgate.harness", h.clone().into()));
    }
    if let Some(t) = &r.tool_use_id {
        a.push(("tool_use_id", t.clone().into()));
    }
    if let Some(us) = r.duration_us {
        a.push((
            "shellgate.duration_us",
            AnyValue::Int(i64::try_from(us).unwrap_or(i64::MAX)),
        ));
    }
    if details {
        a.push(("shellgate.command", r.command.clone().into()));
    }
    a
}
