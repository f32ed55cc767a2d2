//! The neutral [`Message`] and [`Form`] as Adaptive Cards (schema 1.4, as
//! Teams renders them), and card submissions read back.
//!
//! Card text is a small Markdown dialect, so everything a person typed is
//! escaped before it goes in: a title of `**x**` shows as typed. A typed
//! `<at>y</at>` cannot forge a mention either, since a mention needs the
//! entity only the bot adds: `<at>name</at>` plus the user's id.

use crate::message::{ButtonStyle, Form, FormInputKind, Inline, Message, RichText};
use crate::refs::Platform;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The content type of an Adaptive Card attachment.
pub const CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";

/// `message` as an activity attachment.
pub fn message_attachment(message: &Message) -> Value {
    let mut mentions = Mentions::default();
    let mut body = Vec::new();
    if let Some(heading) = &message.heading {
        body.push(json!({
            "type": "TextBlock", "text": escape(heading), "size": "Large",
            "weight": "Bolder", "wrap": true,
        }));
    }
    for paragraph in &message.paragraphs {
        body.push(json!({
            "type": "TextBlock", "text": mentions.markdown(paragraph), "wrap": true,
        }));
    }
    if !message.fields.is_empty() {
        let facts: Vec<Value> = message
            .fields
            .iter()
            .map(|field| json!({"title": escape(&field.label), "value": mentions.markdown(&field.value)}))
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    if let Some(context) = &message.context {
        body.push(json!({
            "type": "TextBlock", "text": mentions.markdown(context), "isSubtle": true,
            "size": "Small", "wrap": true,
        }));
    }
    let actions: Vec<Value> = message
        .buttons
        .iter()
        .filter_map(|button| match &button.url {
            Some(url) if safe_url(url) => Some(json!({
                "type": "Action.OpenUrl", "title": button.label, "url": url,
            })),
            Some(_) => None,
            None => {
                let mut action = json!({
                    "type": "Action.Submit",
                    "title": button.label,
                    "data": {"firebreak": "button", "action_id": button.action_id, "value": button.value},
                });
                match button.style {
                    ButtonStyle::Primary => action["style"] = json!("positive"),
                    ButtonStyle::Danger => action["style"] = json!("destructive"),
                    ButtonStyle::Default => {}
                }
                Some(action)
            }
        })
        .collect();
    attachment(body, actions, mentions.entities)
}

/// `form` as a card: one input per field, pre-filled with `values` (else
/// the form's initial values), `errors` shown under their inputs.
pub fn form_attachment(
    form: &Form,
    values: &BTreeMap<String, String>,
    errors: &BTreeMap<String, String>,
) -> Value {
    let mut body = vec![json!({
        "type": "TextBlock", "text": escape(&form.title), "size": "Large",
        "weight": "Bolder", "wrap": true,
    })];
    for input in &form.inputs {
        let value = values.get(&input.id).or(input.initial.as_ref());
        let mut element = match &input.kind {
            FormInputKind::Line | FormInputKind::User => json!({"type": "Input.Text"}),
            FormInputKind::Paragraph => json!({"type": "Input.Text", "isMultiline": true}),
            FormInputKind::Select { options } => json!({
                "type": "Input.ChoiceSet",
                "style": "compact",
                "choices": options
                    .iter()
                    .map(|(value, label)| json!({"title": label, "value": value}))
                    .collect::<Vec<_>>(),
            }),
            FormInputKind::Checkbox => json!({
                "type": "Input.Toggle", "title": input.label, "valueOn": "true", "valueOff": "false",
            }),
        };
        element["id"] = json!(input.id);
        element["label"] = json!(input.label);
        if input.required {
            element["isRequired"] = json!(true);
            element["errorMessage"] = json!(format!("{} is required.", input.label));
        }
        if matches!(input.kind, FormInputKind::User) {
            element["placeholder"] = json!("@name, or leave empty");
        }
        if let Some(value) = value {
            element["value"] = json!(value);
        }
        body.push(element);
        if let Some(error) = errors.get(&input.id) {
            body.push(json!({
                "type": "TextBlock", "text": escape(error), "color": "attention", "wrap": true,
            }));
        }
    }
    let submit = json!({
        "type": "Action.Submit",
        "title": form.submit_label,
        "data": {"firebreak": "form", "form_id": form.id},
    });
    attachment(body, vec![submit], Vec::new())
}

/// What pressing a card action sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    Button {
        action_id: String,
        value: String,
    },
    Form {
        form_id: String,
        values: BTreeMap<String, String>,
    },
}

/// Reads an activity's `value` (or an `Action.Execute`'s `action.data`)
/// back; `None` when it is not one of the bot's cards.
pub fn parse_submission(value: &Value) -> Option<Submission> {
    let data = if value.get("firebreak").is_some() {
        value
    } else {
        value.pointer("/action/data")?
    };
    match data["firebreak"].as_str()? {
        "button" => Some(Submission::Button {
            action_id: data["action_id"].as_str()?.to_owned(),
            value: data["value"].as_str().unwrap_or_default().to_owned(),
        }),
        "form" => {
            let form_id = data["form_id"].as_str()?.to_owned();
            let values = data
                .as_object()?
                .iter()
                .filter(|(key, _)| *key != "firebreak" && *key != "form_id")
                .filter_map(|(key, value)| {
                    let text = match value {
                        Value::String(text) => text.clone(),
                        Value::Number(number) => number.to_string(),
                        Value::Bool(flag) => flag.to_string(),
                        _ => return None,
                    };
                    Some((key.clone(), text))
                })
                .collect();
            Some(Submission::Form { form_id, values })
        }
        _ => None,
    }
}

/// The plain-text line notifications show.
pub fn summary(message: &Message) -> String {
    message
        .to_plain()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn attachment(body: Vec<Value>, actions: Vec<Value>, entities: Vec<Value>) -> Value {
    let mut card = json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    });
    if !actions.is_empty() {
        card["actions"] = json!(actions);
    }
    if !entities.is_empty() {
        card["msteams"]["entities"] = json!(entities);
    }
    json!({"contentType": CARD_CONTENT_TYPE, "content": card})
}

#[derive(Default)]
struct Mentions {
    entities: Vec<Value>,
}

impl Mentions {
    fn markdown(&mut self, text: &RichText) -> String {
        let mut out = String::new();
        for piece in &text.0 {
            match piece {
                Inline::Text { text } => out.push_str(&escape(text)),
                Inline::Strong { text } => out.push_str(&format!("**{}**", escape(text))),
                Inline::Code { text } => out.push_str(&format!("`{}`", escape(text))),
                Inline::Link { label, url } if safe_url(url) => {
                    out.push_str(&format!("[{}]({})", escape(label), url.replace(')', "%29")))
                }
                Inline::Link { label, .. } => out.push_str(&escape(label)),
                Inline::Mention { user } if user.platform == Platform::Teams => {
                    let tag = format!("<at>{}</at>", escape(user.display()));
                    if !self
                        .entities
                        .iter()
                        .any(|entity| entity["mentioned"]["id"] == user.id.as_str())
                    {
                        self.entities.push(json!({
                            "type": "mention",
                            "text": tag,
                            "mentioned": {"id": user.id, "name": user.display()},
                        }));
                    }
                    out.push_str(&tag);
                }
                Inline::Mention { user } => {
                    out.push('@');
                    out.push_str(&escape(user.display()));
                }
            }
        }
        out
    }
}

fn safe_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    ["https://", "http://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

/// Makes text show as typed: the characters that format in card Markdown
/// (emphasis, links) get a backslash. Card
/// text renders no HTML, and `<at>…</at>` is a mention only with an
/// entity the bot adds, so angle brackets can stay.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '*' | '_' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Button, FormInput};
    use crate::refs::UserRef;

    #[test]
    fn a_headline_is_a_card_with_facts_and_buttons() {
        let message = Message::default()
            .with_heading("INC-1: Payments failing")
            .with_field("Severity", RichText::new().strong("1 (critical)"))
            .with_button(
                Button::action("incident.claim_lead", "I'll lead", "1")
                    .with_style(ButtonStyle::Primary),
            )
            .with_button(Button::action("incident.close", "Close", "1"))
            .with_button(Button::link(
                "page",
                "Incident page",
                "https://fb.example/incidents/1",
            ))
            .with_context(RichText::plain("Declared 10:00"));
        let attachment = message_attachment(&message);
        assert_eq!(attachment["contentType"], CARD_CONTENT_TYPE);
        let card = &attachment["content"];
        assert_eq!(card["version"], "1.4");
        assert_eq!(card["body"][0]["text"], "INC-1: Payments failing");
        assert_eq!(
            card["body"][1]["facts"][0],
            json!({"title": "Severity", "value": "**1 (critical)**"})
        );
        assert_eq!(card["body"][2]["isSubtle"], true);
        assert_eq!(card["actions"][0]["style"], "positive");
        assert_eq!(
            card["actions"][1]["data"],
            json!({"firebreak": "button", "action_id": "incident.close", "value": "1"})
        );
        assert_eq!(card["actions"][2]["type"], "Action.OpenUrl");
    }

    #[test]
    fn typed_text_cannot_format_link_or_mention() {
        let message = Message::text("**bold** <at>Ana</at> <script>")
            .with_paragraph(RichText::plain("x").link("click", "javascript:alert(1)"));
        let card = &message_attachment(&message)["content"];
        let text = card["body"].to_string();
        assert!(text.contains("\\\\*\\\\*bold\\\\*\\\\*"), "{text}");
        assert!(!text.contains("javascript"), "{text}");
        assert!(
            card["msteams"].get("entities").is_none(),
            "a typed <at> is text: only an entity makes a mention"
        );
    }

    #[test]
    fn teams_mentions_are_real_and_others_are_names() {
        let ana = UserRef::new(Platform::Teams, "29:1ana").with_name("Ana");
        let bo = UserRef::new(Platform::Slack, "U1").with_name("Bo");
        let message = Message::rich(
            RichText::plain("Lead: ")
                .mention(ana.clone())
                .text(" and ")
                .mention(bo)
                .mention(ana),
        );
        let card = &message_attachment(&message)["content"];
        assert_eq!(
            card["body"][0]["text"],
            "Lead: <at>Ana</at> and @Bo<at>Ana</at>"
        );
        assert_eq!(
            card["msteams"]["entities"],
            json!([{"type": "mention", "text": "<at>Ana</at>", "mentioned": {"id": "29:1ana", "name": "Ana"}}])
        );
    }

    #[test]
    fn a_form_has_an_input_per_field_values_and_errors() {
        let form = Form {
            id: "incident.declare".into(),
            title: "Declare incident".into(),
            submit_label: "Declare".into(),
            inputs: vec![
                FormInput {
                    id: "title".into(),
                    label: "Title".into(),
                    kind: FormInputKind::Line,
                    required: true,
                    initial: None,
                },
                FormInput {
                    id: "summary".into(),
                    label: "Summary".into(),
                    kind: FormInputKind::Paragraph,
                    required: false,
                    initial: Some("x".into()),
                },
                FormInput {
                    id: "severity".into(),
                    label: "Severity".into(),
                    kind: FormInputKind::Select {
                        options: vec![("1".into(), "1 (critical)".into())],
                    },
                    required: true,
                    initial: None,
                },
                FormInput {
                    id: "lead".into(),
                    label: "Lead".into(),
                    kind: FormInputKind::User,
                    required: false,
                    initial: None,
                },
                FormInput {
                    id: "private".into(),
                    label: "Private".into(),
                    kind: FormInputKind::Checkbox,
                    required: false,
                    initial: None,
                },
            ],
        };
        let values = BTreeMap::from([("title".to_owned(), "<b>".to_owned())]);
        let errors = BTreeMap::from([("title".to_owned(), "Too short.".to_owned())]);
        let card = &form_attachment(&form, &values, &errors)["content"];
        let body = card["body"].as_array().expect("body");
        assert_eq!(body[1]["type"], "Input.Text");
        assert_eq!(body[1]["value"], "<b>", "input values are data, not markup");
        assert_eq!(body[1]["isRequired"], true);
        assert_eq!(
            body[2],
            json!({"type": "TextBlock", "text": "Too short.", "color": "attention", "wrap": true})
        );
        assert_eq!(body[3]["isMultiline"], true);
        assert_eq!(body[3]["value"], "x");
        assert_eq!(
            body[4]["choices"][0],
            json!({"title": "1 (critical)", "value": "1"})
        );
        assert_eq!(body[6]["valueOn"], "true");
        assert_eq!(
            card["actions"][0]["data"],
            json!({"firebreak": "form", "form_id": "incident.declare"})
        );
    }

    #[test]
    fn submissions_are_read_back() {
        assert_eq!(
            parse_submission(
                &json!({"firebreak": "button", "action_id": "incident.close", "value": "3"})
            ),
            Some(Submission::Button {
                action_id: "incident.close".into(),
                value: "3".into()
            })
        );
        assert_eq!(
            parse_submission(
                &json!({"firebreak": "form", "form_id": "f", "title": "T", "severity": 2, "private": false, "x": null})
            ),
            Some(Submission::Form {
                form_id: "f".into(),
                values: BTreeMap::from([
                    ("title".into(), "T".into()),
                    ("severity".into(), "2".into()),
                    ("private".into(), "false".into()),
                ]),
            })
        );
        assert_eq!(
            parse_submission(
                &json!({"action": {"type": "Action.Execute", "data": {"firebreak": "button", "action_id": "a"}}})
            ),
            Some(Submission::Button {
                action_id: "a".into(),
                value: String::new()
            })
        );
        assert_eq!(parse_submission(&json!({"foo": 1})), None);
        assert_eq!(parse_submission(&json!("text")), None);
        assert_eq!(parse_submission(&json!({"firebreak": "other"})), None);
    }
}
