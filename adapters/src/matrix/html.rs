//! A [`Message`] as Matrix `m.room.message` content: a plain `body` and an
//! `org.matrix.custom.html` `formatted_body`, mentions as pills.
//!
//! Every piece of text is escaped here, so nothing a person typed into a
//! title or a summary can become markup in someone's client. Matrix has no
//! buttons: link buttons become links, and action buttons are left out
//! (each one has a text command that does the same).

use crate::message::{Inline, Message, RichText};
use crate::refs::Platform;
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// For clients without HTML and for notifications.
    pub body: String,
    /// `formatted_body` in `org.matrix.custom.html`.
    pub html: String,
    /// Matrix user ids mentioned, for `m.mentions` (so they are notified).
    pub mentions: Vec<String>,
}

pub fn render(message: &Message) -> Rendered {
    let mut out = Out::default();
    if let Some(heading) = &message.heading {
        out.html.push_str(&format!("<h4>{}</h4>", escape(heading)));
        out.lines.push(heading.clone());
    }
    for paragraph in &message.paragraphs {
        let (html, plain) = out.inline(paragraph);
        out.html.push_str(&format!("<p>{html}</p>"));
        out.lines.push(plain);
    }
    if !message.fields.is_empty() {
        out.html.push_str("<ul>");
        for field in &message.fields {
            let (html, plain) = out.inline(&field.value);
            out.html.push_str(&format!(
                "<li><strong>{}:</strong> {html}</li>",
                escape(&field.label)
            ));
            out.lines.push(format!("{}: {plain}", field.label));
        }
        out.html.push_str("</ul>");
    }
    let links: Vec<(&str, &str)> = message
        .buttons
        .iter()
        .filter_map(|button| Some((button.label.as_str(), button.url.as_deref()?)))
        .filter(|(_, url)| safe_url(url))
        .collect();
    if !links.is_empty() {
        let html: Vec<String> = links
            .iter()
            .map(|(label, url)| format!("<a href=\"{}\">{}</a>", escape(url), escape(label)))
            .collect();
        out.html.push_str(&format!("<p>{}</p>", html.join(" · ")));
        let plain: Vec<String> = links
            .iter()
            .map(|(label, url)| format!("{label}: {url}"))
            .collect();
        out.lines.push(plain.join(" · "));
    }
    if let Some(context) = &message.context {
        let (html, plain) = out.inline(context);
        out.html.push_str(&format!("<p><em>{html}</em></p>"));
        out.lines.push(plain);
    }
    Rendered {
        body: out.lines.join("\n"),
        html: out.html,
        mentions: out.mentions,
    }
}

/// The content of an `m.room.message` of `msgtype` showing `message`.
pub fn content(message: &Message, msgtype: &str) -> Value {
    let rendered = render(message);
    json!({
        "msgtype": msgtype,
        "body": rendered.body,
        "format": "org.matrix.custom.html",
        "formatted_body": rendered.html,
        "m.mentions": {"user_ids": rendered.mentions},
    })
}

/// The content of an edit of `original_event_id` to show `message`, as the
/// spec's "Event replacements" section has it: a `* `-prefixed fallback for
/// clients that do not understand edits, the new content in
/// `m.new_content`. Mentions are not repeated, so an edit notifies nobody
/// again.
pub fn edit_content(original_event_id: &str, message: &Message, msgtype: &str) -> Value {
    let rendered = render(message);
    json!({
        "msgtype": msgtype,
        "body": format!("* {}", rendered.body),
        "format": "org.matrix.custom.html",
        "formatted_body": format!("* {}", rendered.html),
        "m.mentions": {},
        "m.new_content": {
            "msgtype": msgtype,
            "body": rendered.body,
            "format": "org.matrix.custom.html",
            "formatted_body": rendered.html,
            "m.mentions": {"user_ids": rendered.mentions},
        },
        "m.relates_to": {"rel_type": "m.replace", "event_id": original_event_id},
    })
}

#[derive(Default)]
struct Out {
    html: String,
    lines: Vec<String>,
    mentions: Vec<String>,
}

impl Out {
    fn inline(&mut self, text: &RichText) -> (String, String) {
        let mut html = String::new();
        let mut plain = String::new();
        for piece in &text.0 {
            match piece {
                Inline::Text { text } => {
                    html.push_str(&escape(text));
                    plain.push_str(text);
                }
                Inline::Strong { text } => {
                    html.push_str(&format!("<strong>{}</strong>", escape(text)));
                    plain.push_str(text);
                }
                Inline::Code { text } => {
                    html.push_str(&format!("<code>{}</code>", escape(text)));
                    plain.push_str(text);
                }
                Inline::Link { label, url } if safe_url(url) => {
                    html.push_str(&format!(
                        "<a href=\"{}\">{}</a>",
                        escape(url),
                        escape(label)
                    ));
                    plain.push_str(&format!("{label} ({url})"));
                }
                Inline::Link { label, .. } => {
                    html.push_str(&escape(label));
                    plain.push_str(label);
                }
                Inline::Mention { user } if user.platform == Platform::Matrix => {
                    html.push_str(&format!(
                        "<a href=\"https://matrix.to/#/{}\">{}</a>",
                        escape(&user.id),
                        escape(user.display())
                    ));
                    plain.push_str(user.display());
                    if !self.mentions.contains(&user.id) {
                        self.mentions.push(user.id.clone());
                    }
                }
                Inline::Mention { user } => {
                    html.push_str(&format!("@{}", escape(user.display())));
                    plain.push('@');
                    plain.push_str(user.display());
                }
            }
        }
        (html, plain)
    }
}

/// Only links a reader can safely follow: no `javascript:` and the like.
fn safe_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    ["https://", "http://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Button;
    use crate::refs::UserRef;

    #[test]
    fn user_text_is_escaped_everywhere() {
        let message = Message::default()
            .with_heading("<script>alert(1)</script>")
            .with_paragraph(
                RichText::plain("a < b & \"c\"").link("<i>x</i>", "https://e.org/?a=1&b=\"2\""),
            )
            .with_field("<b>Lead</b>", RichText::plain("<img src=x>"));
        let rendered = render(&message);
        assert!(!rendered.html.contains("<script>"), "{}", rendered.html);
        assert!(!rendered.html.contains("<img"), "{}", rendered.html);
        assert!(rendered
            .html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(rendered.html.contains(
            "<a href=\"https://e.org/?a=1&amp;b=&quot;2&quot;\">&lt;i&gt;x&lt;/i&gt;</a>"
        ));
        assert!(
            rendered.body.starts_with("<script>alert(1)</script>\n"),
            "plain text is plain"
        );
    }

    #[test]
    fn matrix_mentions_are_pills_and_notify() {
        let ana = UserRef::new(Platform::Matrix, "@ana:example.org").with_name("Ana");
        let slack = UserRef::new(Platform::Slack, "U1").with_name("Bo");
        let rendered = render(&Message::rich(
            RichText::plain("Lead: ")
                .mention(ana.clone())
                .text(", ")
                .mention(slack)
                .text(" and ")
                .mention(ana),
        ));
        assert_eq!(
            rendered.html,
            "<p>Lead: <a href=\"https://matrix.to/#/@ana:example.org\">Ana</a>, @Bo and <a href=\"https://matrix.to/#/@ana:example.org\">Ana</a></p>"
        );
        assert_eq!(rendered.body, "Lead: Ana, @Bo and Ana");
        assert_eq!(rendered.mentions, ["@ana:example.org"]);
    }

    #[test]
    fn link_buttons_become_links_and_action_buttons_are_left_out() {
        let message = Message::text("Payments failing")
            .with_button(Button::action("claim", "I'll lead", "1"))
            .with_button(Button::link(
                "page",
                "Incident page",
                "https://fb.example/incidents/1",
            ))
            .with_button(Button::link("bad", "Bad", "javascript:alert(1)"));
        let rendered = render(&message);
        assert_eq!(
            rendered.html,
            "<p>Payments failing</p><p><a href=\"https://fb.example/incidents/1\">Incident page</a></p>"
        );
        assert!(!rendered.body.contains("I'll lead"));
        assert!(rendered
            .body
            .ends_with("Incident page: https://fb.example/incidents/1"));
    }

    #[test]
    fn an_edit_replaces_the_original_as_the_spec_shows() {
        let edit = edit_content("$headline", &Message::text("SEV1"), "m.notice");
        assert_eq!(
            edit["m.relates_to"],
            json!({"rel_type": "m.replace", "event_id": "$headline"})
        );
        assert_eq!(edit["body"], "* SEV1");
        assert_eq!(edit["m.new_content"]["body"], "SEV1");
        assert_eq!(edit["m.new_content"]["msgtype"], "m.notice");
        assert_eq!(edit["m.new_content"]["formatted_body"], "<p>SEV1</p>");
        let content = content(&Message::text("hi"), "m.notice");
        assert_eq!(content["format"], "org.matrix.custom.html");
        assert_eq!(content["m.mentions"], json!({"user_ids": []}));
    }
}
