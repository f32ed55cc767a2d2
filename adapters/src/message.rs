//! What the bot says: rich messages and forms, independent of any platform.
//!
//! Each platform module renders these to its own format (Block Kit, Adaptive
//! Cards, Matrix HTML). Text is a list of [`Inline`] pieces rather than a
//! markup string so that mentions and links survive every renderer intact
//! and nothing typed by a user can smuggle in markup.

use crate::refs::UserRef;
use serde::{Deserialize, Serialize};

/// One piece of inline text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inline {
    Text { text: String },
    Strong { text: String },
    Code { text: String },
    Link { label: String, url: String },
    Mention { user: UserRef },
}

/// A run of inline pieces: a paragraph, a field value, a heading.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RichText(pub Vec<Inline>);

impl RichText {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn plain(text: impl Into<String>) -> Self {
        Self::new().text(text)
    }

    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.0.push(Inline::Text { text: text.into() });
        self
    }

    pub fn strong(mut self, text: impl Into<String>) -> Self {
        self.0.push(Inline::Strong { text: text.into() });
        self
    }

    pub fn code(mut self, text: impl Into<String>) -> Self {
        self.0.push(Inline::Code { text: text.into() });
        self
    }

    pub fn link(mut self, label: impl Into<String>, url: impl Into<String>) -> Self {
        self.0.push(Inline::Link {
            label: label.into(),
            url: url.into(),
        });
        self
    }

    pub fn mention(mut self, user: UserRef) -> Self {
        self.0.push(Inline::Mention { user });
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text as a person would read it with all formatting removed;
    /// mentions become `@name`. Used for notifications' fallback text and
    /// by tests.
    pub fn to_plain(&self) -> String {
        let mut out = String::new();
        for inline in &self.0 {
            match inline {
                Inline::Text { text } | Inline::Strong { text } | Inline::Code { text } => {
                    out.push_str(text)
                }
                Inline::Link { label, .. } => out.push_str(label),
                Inline::Mention { user } => {
                    out.push('@');
                    out.push_str(user.display());
                }
            }
        }
        out
    }
}

/// A label and its value, shown side by side where the platform can.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub label: String,
    pub value: RichText,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonStyle {
    #[default]
    Default,
    Primary,
    Danger,
}

/// A button; pressing it comes back as [`crate::ChatEventKind::ButtonPressed`]
/// with the same `action_id` and `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub action_id: String,
    pub label: String,
    pub value: String,
    #[serde(default)]
    pub style: ButtonStyle,
    /// A link button: opens this URL instead of (only) reporting the press.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Button {
    /// A button whose press comes back as an event.
    pub fn action(
        action_id: impl Into<String>,
        label: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Self {
            action_id: action_id.into(),
            label: label.into(),
            value: value.into(),
            style: ButtonStyle::Default,
            url: None,
        }
    }

    /// A button that opens `url`.
    pub fn link(
        action_id: impl Into<String>,
        label: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        Self {
            url: Some(url.into()),
            ..Self::action(action_id, label, "")
        }
    }

    pub fn with_style(mut self, style: ButtonStyle) -> Self {
        self.style = style;
        self
    }
}

/// A rich message: an optional heading, paragraphs, fields, buttons and a
/// small-print context line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paragraphs: Vec<RichText>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<RichText>,
    /// Names this delivery durably (the incident, its version, the kind
    /// of message), so a platform with idempotent sends (Matrix's
    /// `txnId`) turns a repeat after a crash or timeout into a no-op.
    /// Not part of what is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_key: Option<String>,
}

impl Message {
    /// A message of one plain paragraph.
    pub fn text(text: impl Into<String>) -> Self {
        Self::rich(RichText::plain(text))
    }

    pub fn rich(text: RichText) -> Self {
        Self {
            paragraphs: vec![text],
            ..Self::default()
        }
    }

    pub fn with_heading(mut self, heading: impl Into<String>) -> Self {
        self.heading = Some(heading.into());
        self
    }

    pub fn with_paragraph(mut self, text: RichText) -> Self {
        self.paragraphs.push(text);
        self
    }

    pub fn with_field(mut self, label: impl Into<String>, value: RichText) -> Self {
        self.fields.push(Field {
            label: label.into(),
            value,
        });
        self
    }

    pub fn with_button(mut self, button: Button) -> Self {
        self.buttons.push(button);
        self
    }

    pub fn with_context(mut self, context: RichText) -> Self {
        self.context = Some(context);
        self
    }

    pub fn with_delivery_key(mut self, key: impl Into<String>) -> Self {
        self.delivery_key = Some(key.into());
        self
    }

    /// The whole message as plain text, one line per part: the fallback
    /// text platforms show in notifications, and what tests read.
    pub fn to_plain(&self) -> String {
        let mut lines = Vec::new();
        if let Some(heading) = &self.heading {
            lines.push(heading.clone());
        }
        lines.extend(self.paragraphs.iter().map(RichText::to_plain));
        lines.extend(
            self.fields
                .iter()
                .map(|field| format!("{}: {}", field.label, field.value.to_plain())),
        );
        lines.extend(
            self.buttons
                .iter()
                .map(|button| format!("[{}]", button.label)),
        );
        if let Some(context) = &self.context {
            lines.push(context.to_plain());
        }
        lines.join("\n")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FormInputKind {
    Line,
    Paragraph,
    /// One of `(value, label)`.
    Select {
        options: Vec<(String, String)>,
    },
    /// A person on the platform; the answer is their user id.
    User,
    /// A yes/no box; the answer is `"true"` when ticked.
    Checkbox,
}

/// One input of a form; its answer comes back under `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormInput {
    pub id: String,
    pub label: String,
    pub kind: FormInputKind,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<String>,
}

/// A dialog (Slack modal, Teams task module). Submitting it comes back as
/// [`crate::ChatEventKind::FormSubmitted`] with the same `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form {
    pub id: String,
    pub title: String,
    pub submit_label: String,
    pub inputs: Vec<FormInput>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refs::{Platform, UserRef};

    #[test]
    fn plain_rendering_keeps_every_part_in_reading_order() {
        let ana = UserRef::new(Platform::Memory, "ana").with_name("Ana");
        let message = Message::rich(RichText::plain("Lead is ").mention(ana.clone()))
            .with_heading("INC-1: Payments failing")
            .with_field("Severity", RichText::new().strong("1 (critical)"))
            .with_button(Button::action("ack", "Acknowledge", "1").with_style(ButtonStyle::Primary))
            .with_context(RichText::plain("declared by ").link("Bo", "https://example.test"));
        assert_eq!(
            message.to_plain(),
            "INC-1: Payments failing\nLead is @Ana\nSeverity: 1 (critical)\n[Acknowledge]\ndeclared by Bo"
        );
    }
}
