//! The Socket Mode wire format: the frames Slack sends over the WebSocket,
//! parsed into [`Frame`], the request body each envelope stands for, and
//! the acknowledgement we send back.
//!
//! Mirrors <https://api.slack.com/apis/connections/socket> ("hello",
//! "disconnect", the envelope around Events API, slash command and
//! interactivity payloads, and the `{"envelope_id", "payload"?}` ack).
//!
//! Slack adds frame types without notice, so an unknown one parses to
//! [`Frame::Unknown`] and is acknowledged and skipped, never an error.

use super::SocketError;
use crate::slack::inbound::RequestKind;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;

/// Identifies one envelope; the ack must echo it. Opaque (Slack sends a
/// UUID today) and never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EnvelopeId(String);

impl EnvelopeId {
    pub(super) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EnvelopeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One text frame from Slack.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Frame {
    /// The first frame on every connection: Slack is ready to deliver.
    Hello(Hello),
    /// Slack is about to drop this connection and wants a new one opened.
    Disconnect(DisconnectReason),
    /// A request to handle and acknowledge.
    Envelope(Envelope),
    /// A frame type Slack added after this was written. If it carries an
    /// envelope id it is acknowledged, so Slack does not redeliver it.
    Unknown {
        kind: String,
        envelope_id: Option<EnvelopeId>,
    },
}

/// What Slack says about the connection in its `hello`; logged only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Hello {
    /// How many Socket Mode connections the app has open, this one included.
    pub(super) num_connections: Option<u64>,
    /// Roughly how many seconds Slack will keep this connection before it
    /// asks for a refresh.
    pub(super) approximate_connection_time: Option<u64>,
    /// Slack's host serving this connection, for support tickets.
    pub(super) host: Option<String>,
}

/// Why Slack sent `disconnect`.
/// <https://api.slack.com/apis/connections/socket#disconnect>
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DisconnectReason {
    /// The routine refresh, every few hours.
    RefreshRequested,
    /// Sent about ten seconds before the connection is dropped.
    Warning,
    /// Socket Mode was switched off in the app's settings: a new connection
    /// will not get far until someone switches it back on.
    LinkDisabled,
    /// A reason Slack added later, or none at all.
    Other(String),
}

impl DisconnectReason {
    fn parse(reason: Option<String>) -> Self {
        match reason.as_deref() {
            Some("refresh_requested") => DisconnectReason::RefreshRequested,
            Some("warning") => DisconnectReason::Warning,
            Some("link_disabled") => DisconnectReason::LinkDisabled,
            _ => DisconnectReason::Other(reason.unwrap_or_default()),
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisconnectReason::RefreshRequested => f.write_str("refresh_requested"),
            DisconnectReason::Warning => f.write_str("warning"),
            DisconnectReason::LinkDisabled => f.write_str("link_disabled"),
            DisconnectReason::Other(reason) if reason.is_empty() => f.write_str("(none given)"),
            DisconnectReason::Other(reason) => f.write_str(reason),
        }
    }
}

/// An Events API, slash command or interactivity request.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Envelope {
    pub(super) id: EnvelopeId,
    pub(super) kind: RequestKind,
    /// What would have been the HTTP request, as JSON; always an object.
    pub(super) payload: Map<String, Value>,
    /// Whether the ack may carry a response (a modal's `response_action`,
    /// a slash command's reply); Slack ignores one where it may not.
    pub(super) accepts_response_payload: bool,
    /// 0 on first delivery; Slack counts up when it redelivers an envelope
    /// that was not acknowledged in time.
    pub(super) retry_attempt: u64,
    pub(super) retry_reason: String,
}

impl Envelope {
    /// The body the matching HTTP route would have received, so the rest
    /// of the pipeline (classification, the inbox, decoding) is shared:
    /// the Events API payload as JSON text, a slash command form-encoded,
    /// an interaction as the form field `payload=<JSON>`.
    pub(super) fn http_body(&self) -> Result<String, SocketError> {
        let form_error = |error: serde_urlencoded::ser::Error| SocketError::MalformedEnvelope {
            envelope_id: self.id.to_string(),
            reason: format!("payload cannot be form-encoded: {error}"),
        };
        match self.kind {
            RequestKind::Events => Ok(Value::Object(self.payload.clone()).to_string()),
            RequestKind::Command => {
                serde_urlencoded::to_string(command_form_fields(&self.payload)).map_err(form_error)
            }
            RequestKind::Interaction => {
                let payload = Value::Object(self.payload.clone()).to_string();
                serde_urlencoded::to_string([("payload", payload)]).map_err(form_error)
            }
        }
    }
}

/// Parses one text frame.
pub(super) fn parse_frame(text: &str) -> Result<Frame, SocketError> {
    let wire: WireFrame = serde_json::from_str(text).map_err(|error| {
        SocketError::MalformedFrame(format!("not a Socket Mode frame: {error}"))
    })?;
    let envelope_id = wire.envelope_id.filter(|id| !id.is_empty()).map(EnvelopeId);
    let kind = match wire.kind.as_str() {
        "hello" => {
            let debug_info = wire.debug_info.unwrap_or_default();
            return Ok(Frame::Hello(Hello {
                num_connections: wire.num_connections,
                approximate_connection_time: debug_info.approximate_connection_time,
                host: debug_info.host,
            }));
        }
        "disconnect" => return Ok(Frame::Disconnect(DisconnectReason::parse(wire.reason))),
        "events_api" => RequestKind::Events,
        "slash_commands" => RequestKind::Command,
        "interactive" => RequestKind::Interaction,
        _ => {
            return Ok(Frame::Unknown {
                kind: wire.kind,
                envelope_id,
            })
        }
    };
    let Some(id) = envelope_id else {
        return Err(SocketError::MalformedFrame(format!(
            "a {} envelope without an envelope_id",
            wire.kind
        )));
    };
    let payload = match wire.payload {
        Some(Value::Object(payload)) => payload,
        other => {
            let found = match other {
                None | Some(Value::Null) => "no payload",
                Some(_) => "a payload that is not a JSON object",
            };
            return Err(SocketError::MalformedEnvelope {
                envelope_id: id.to_string(),
                reason: format!("{} envelope with {found}", wire.kind),
            });
        }
    };
    Ok(Frame::Envelope(Envelope {
        id,
        kind,
        payload,
        accepts_response_payload: wire.accepts_response_payload.unwrap_or(false),
        retry_attempt: wire.retry_attempt.unwrap_or(0),
        retry_reason: wire.retry_reason.unwrap_or_default(),
    }))
}

/// The acknowledgement for `envelope_id`, with the handler's response when
/// it gave one.
pub(super) fn ack(envelope_id: &EnvelopeId, response: Option<Value>) -> String {
    let mut ack = Map::new();
    ack.insert(
        "envelope_id".to_owned(),
        Value::String(envelope_id.as_str().to_owned()),
    );
    if let Some(response) = response {
        ack.insert("payload".to_owned(), response);
    }
    Value::Object(ack).to_string()
}

/// Over HTTP a slash command is a flat form; over the socket Slack sends
/// the same fields as a JSON object whose values are strings (even
/// `is_enterprise_install` is `"false"`). Anything else is written as the
/// form would spell it: booleans and numbers as text, a missing value
/// (`null`) left out, and (never seen) nested JSON as its JSON text.
fn command_form_fields(payload: &Map<String, Value>) -> Vec<(&str, String)> {
    payload
        .iter()
        .filter_map(|(name, value)| {
            let text = match value {
                Value::Null => return None,
                Value::String(text) => text.clone(),
                Value::Bool(_) | Value::Number(_) | Value::Array(_) | Value::Object(_) => {
                    value.to_string()
                }
            };
            Some((name.as_str(), text))
        })
        .collect()
}

/// Every field any frame type has, each optional; [`parse_frame`] decides
/// which matter by `type`.
#[derive(Debug, Deserialize)]
struct WireFrame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    envelope_id: Option<String>,
    #[serde(default)]
    payload: Option<Value>,
    #[serde(default)]
    accepts_response_payload: Option<bool>,
    #[serde(default)]
    retry_attempt: Option<u64>,
    #[serde(default)]
    retry_reason: Option<String>,
    /// `disconnect` only.
    #[serde(default)]
    reason: Option<String>,
    /// `hello` only.
    #[serde(default)]
    num_connections: Option<u64>,
    #[serde(default)]
    debug_info: Option<WireDebugInfo>,
}

#[derive(Debug, Default, Deserialize)]
struct WireDebugInfo {
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    approximate_connection_time: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::inbound::{parse_command, parse_interaction, Interaction};
    use serde_json::json;

    const HELLO: &str = include_str!("fixtures/hello.json");
    const DISCONNECT: &str = include_str!("fixtures/disconnect.json");
    const SLASH_COMMANDS: &str = include_str!("fixtures/slash_commands.json");
    const INTERACTIVE: &str = include_str!("fixtures/interactive.json");
    const APP_MENTION: &str = include_str!("../fixtures/app_mention.json");

    fn envelope(frame: &str) -> Envelope {
        match parse_frame(frame) {
            Ok(Frame::Envelope(envelope)) => envelope,
            other => panic!("expected an envelope, got {other:?}"),
        }
    }

    #[test]
    fn hello_carries_what_slack_says_about_the_connection() {
        assert_eq!(
            parse_frame(HELLO).expect("parses"),
            Frame::Hello(Hello {
                num_connections: Some(1),
                approximate_connection_time: Some(18060),
                host: Some("applink-7fc4fdbb64-4x5xq".into()),
            })
        );
    }

    #[test]
    fn disconnect_reasons_are_told_apart() {
        assert_eq!(
            parse_frame(DISCONNECT).expect("parses"),
            Frame::Disconnect(DisconnectReason::RefreshRequested)
        );
        for (reason, parsed) in [
            ("warning", DisconnectReason::Warning),
            ("link_disabled", DisconnectReason::LinkDisabled),
            (
                "too_many_websockets",
                DisconnectReason::Other("too_many_websockets".into()),
            ),
        ] {
            let frame = json!({ "type": "disconnect", "reason": reason }).to_string();
            assert_eq!(
                parse_frame(&frame),
                Ok(Frame::Disconnect(parsed)),
                "{reason}"
            );
        }
        assert_eq!(
            parse_frame(r#"{"type":"disconnect"}"#),
            Ok(Frame::Disconnect(DisconnectReason::Other(String::new())))
        );
    }

    #[test]
    fn an_events_api_envelope_becomes_the_json_body_the_events_route_gets() {
        let frame = json!({
            "envelope_id": "57d6a792-4d35-4d0b-b6aa-3361493e1caf",
            "payload": serde_json::from_str::<Value>(APP_MENTION).expect("fixture is JSON"),
            "type": "events_api",
            "accepts_response_payload": false,
            "retry_attempt": 1,
            "retry_reason": "timeout"
        })
        .to_string();
        let envelope = envelope(&frame);
        assert_eq!(envelope.kind, RequestKind::Events);
        assert_eq!(envelope.id.as_str(), "57d6a792-4d35-4d0b-b6aa-3361493e1caf");
        assert!(!envelope.accepts_response_payload);
        assert_eq!(envelope.retry_attempt, 1);
        assert_eq!(envelope.retry_reason, "timeout");
        let body: Value =
            serde_json::from_str(&envelope.http_body().expect("encodes")).expect("body is JSON");
        assert_eq!(
            body,
            serde_json::from_str::<Value>(APP_MENTION).expect("fixture is JSON")
        );
    }

    #[test]
    fn a_slash_command_envelope_becomes_the_form_the_commands_route_gets() {
        let envelope = envelope(SLASH_COMMANDS);
        assert_eq!(envelope.kind, RequestKind::Command);
        assert!(envelope.accepts_response_payload);
        let command = parse_command(&envelope.http_body().expect("encodes")).expect("parses");
        assert_eq!(command.command, "/incident");
        assert_eq!(command.user_id.as_str(), "U123ABC456");
        assert_eq!(command.channel_id.as_str(), "C123ABC456");
        assert_eq!(
            command.trigger_id.as_str(),
            "37053613634.26768298162.440952c06ef4de2653466a48fe495f93"
        );
        assert_eq!(
            command.text,
            "declare sev1 Checkout &amp; payments failing, lead <@U024BE7LH|ana>"
        );
    }

    #[test]
    fn slash_command_values_that_are_not_strings_are_written_as_a_form_would() {
        let payload = json!({
            "command": "/incident",
            "text": "a=b&c",
            "is_enterprise_install": false,
            "retries": 2,
            "enterprise_id": null
        });
        let Value::Object(payload) = payload else {
            unreachable!("a JSON object literal")
        };
        assert_eq!(
            serde_urlencoded::to_string(command_form_fields(&payload)).expect("encodes"),
            "command=%2Fincident&is_enterprise_install=false&retries=2&text=a%3Db%26c"
        );
    }

    #[test]
    fn an_interactive_envelope_becomes_the_payload_form_field() {
        let envelope = envelope(INTERACTIVE);
        assert_eq!(envelope.kind, RequestKind::Interaction);
        let body = envelope.http_body().expect("encodes");
        assert!(body.starts_with("payload=%7B"), "{body}");
        match parse_interaction(&body).expect("parses") {
            Interaction::ViewSubmission {
                callback_id,
                values,
                ..
            } => {
                assert_eq!(callback_id, "declare");
                assert_eq!(
                    values.get("title").map(String::as_str),
                    Some("Checkout failing")
                );
            }
            other => panic!("expected a view submission, got {other:?}"),
        }
    }

    #[test]
    fn unknown_frame_types_are_kept_with_their_envelope_id() {
        assert_eq!(
            parse_frame(r#"{"type":"workflow_step","envelope_id":"e1","payload":{}}"#),
            Ok(Frame::Unknown {
                kind: "workflow_step".into(),
                envelope_id: Some(EnvelopeId("e1".into())),
            })
        );
        assert_eq!(
            parse_frame(r#"{"type":"goodbye"}"#),
            Ok(Frame::Unknown {
                kind: "goodbye".into(),
                envelope_id: None,
            })
        );
    }

    #[test]
    fn frames_that_cannot_be_handled_are_errors_naming_the_problem() {
        assert!(matches!(
            parse_frame("not json"),
            Err(SocketError::MalformedFrame(_))
        ));
        assert!(matches!(
            parse_frame(r#"{"envelope_id":"e1"}"#),
            Err(SocketError::MalformedFrame(_))
        ));
        assert!(matches!(
            parse_frame(r#"{"type":"events_api","payload":{}}"#),
            Err(SocketError::MalformedFrame(reason)) if reason.contains("envelope_id")
        ));
        assert_eq!(
            parse_frame(r#"{"type":"slash_commands","envelope_id":"e1","payload":"text"}"#),
            Err(SocketError::MalformedEnvelope {
                envelope_id: "e1".into(),
                reason: "slash_commands envelope with a payload that is not a JSON object".into(),
            })
        );
        assert_eq!(
            parse_frame(r#"{"type":"interactive","envelope_id":"e1"}"#),
            Err(SocketError::MalformedEnvelope {
                envelope_id: "e1".into(),
                reason: "interactive envelope with no payload".into(),
            })
        );
    }

    #[test]
    fn acks_echo_the_envelope_id_and_carry_a_response_only_when_given() {
        let id = EnvelopeId("e1".into());
        assert_eq!(ack(&id, None), r#"{"envelope_id":"e1"}"#);
        let with_response: Value =
            serde_json::from_str(&ack(&id, Some(json!({ "response_action": "clear" }))))
                .expect("ack is JSON");
        assert_eq!(
            with_response,
            json!({ "envelope_id": "e1", "payload": { "response_action": "clear" } })
        );
    }
}
