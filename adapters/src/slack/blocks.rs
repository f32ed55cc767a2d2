//! The neutral [`Message`] and [`Form`] rendered as Slack Block Kit.
//!
//! Messages become `{"text", "blocks"}` for `chat.postMessage` /
//! `chat.update`; forms become a modal view for `views.open`.
//! <https://api.slack.com/reference/block-kit/blocks>,
//! <https://api.slack.com/reference/surfaces/views>.
//!
//! Everything a user typed is escaped (`&`, `<`, `>`), so a title like
//! `<!channel>` cannot ping a whole channel. Slack rejects a whole message
//! when one block breaks a limit, and an incident update that fails to post
//! is worse than a shortened one, so every documented limit is enforced
//! here by truncating with `…`.
//!
//! mrkdwn has no escape for `*`, `_`, `~` or `` ` ``; a user's `*word*`
//! shows in bold. That is cosmetic, unlike `<`, and is left alone.

use crate::message::{
    Button, ButtonStyle, Form, FormInput, FormInputKind, Inline, Message, RichText,
};
use crate::refs::Platform;
use serde_json::{json, Value};

/// Slack's documented limits, in characters.
/// <https://api.slack.com/reference/block-kit/blocks>
mod limit {
    pub const BLOCKS_PER_MESSAGE: usize = 50;
    pub const BLOCKS_PER_VIEW: usize = 100;
    pub const HEADER_TEXT: usize = 150;
    pub const SECTION_TEXT: usize = 3000;
    pub const SECTION_FIELDS: usize = 10;
    pub const FIELD_TEXT: usize = 2000;
    pub const ACTIONS_ELEMENTS: usize = 25;
    pub const BUTTON_TEXT: usize = 75;
    pub const BUTTON_VALUE: usize = 2000;
    pub const BUTTON_URL: usize = 3000;
    pub const CONTEXT_TEXT: usize = 3000;
    /// Not a hard limit (Slack truncates `text` at 40,000); the fallback
    /// only feeds notifications, which show far less.
    pub const FALLBACK_TEXT: usize = 3000;
    pub const VIEW_TITLE: usize = 24;
    pub const VIEW_BUTTON: usize = 24;
    pub const INPUT_LABEL: usize = 2000;
    pub const OPTION_TEXT: usize = 75;
    pub const OPTION_VALUE: usize = 150;
    pub const SELECT_OPTIONS: usize = 100;
    pub const INITIAL_VALUE: usize = 3000;
}

/// Rich text as Slack mrkdwn.
/// <https://api.slack.com/reference/surfaces/formatting>
pub fn mrkdwn(text: &RichText) -> String {
    let mut out = String::new();
    for inline in &text.0 {
        match inline {
            Inline::Text { text } => out.push_str(&escape(text)),
            Inline::Strong { text } => out.push_str(&wrap(text, '*')),
            // A backtick inside would end the code span early and mrkdwn
            // has no escape for it.
            Inline::Code { text } => out.push_str(&wrap(&text.replace('`', "'"), '`')),
            Inline::Link { label, url } => {
                // `|` would end the URL early; `>` (escaped) would not, but
                // percent-encoding both keeps the URL intact everywhere.
                let url = escape(&url.replace('|', "%7C"));
                if label.trim().is_empty() {
                    out.push_str(&format!("<{url}>"));
                } else {
                    out.push_str(&format!("<{url}|{}>", escape(label)));
                }
            }
            Inline::Mention { user } => {
                if user.platform == Platform::Slack && is_plain_id(&user.id) {
                    out.push_str(&format!("<@{}>", user.id));
                } else {
                    out.push_str(&escape(user.display()));
                }
            }
        }
    }
    out
}

/// A message as the body of `chat.postMessage` / `chat.update`:
/// `{"text": <plain fallback>, "blocks": [...]}`. Blocks come in reading
/// order: header, one section per paragraph, field sections, buttons,
/// context.
pub fn message_payload(message: &Message) -> Value {
    let mut body: Vec<Value> = Vec::new();
    if let Some(heading) = message.heading.as_deref().filter(|h| !h.trim().is_empty()) {
        body.push(json!({
            "type": "header",
            "text": plain_text(heading, limit::HEADER_TEXT),
        }));
    }
    for paragraph in &message.paragraphs {
        let text = mrkdwn(paragraph);
        // Slack rejects a section whose text is empty.
        if text.trim().is_empty() {
            continue;
        }
        body.push(json!({
            "type": "section",
            "text": mrkdwn_text(&text, limit::SECTION_TEXT),
        }));
    }
    for fields in message.fields.chunks(limit::SECTION_FIELDS) {
        let fields: Vec<Value> = fields
            .iter()
            .map(|field| {
                let text = format!("{}\n{}", wrap(&field.label, '*'), mrkdwn(&field.value));
                mrkdwn_text(&text, limit::FIELD_TEXT)
            })
            .collect();
        body.push(json!({ "type": "section", "fields": fields }));
    }

    // Buttons and the context line go last and are never the part cut, so
    // a long message keeps its actions.
    let mut tail: Vec<Value> = message
        .buttons
        .chunks(limit::ACTIONS_ELEMENTS)
        .map(|buttons| {
            json!({
                "type": "actions",
                "elements": buttons.iter().map(button).collect::<Vec<_>>(),
            })
        })
        .collect();
    if let Some(context) = &message.context {
        let text = mrkdwn(context);
        if !text.trim().is_empty() {
            tail.push(context_block(&text));
        }
    }
    tail.truncate(limit::BLOCKS_PER_MESSAGE);

    let room = limit::BLOCKS_PER_MESSAGE - tail.len();
    if body.len() > room {
        let dropped = body.len() - room + 1;
        tracing::warn!(dropped, "Slack message has too many blocks; shortening it");
        body.truncate(room.saturating_sub(1));
        if room > 0 {
            body.push(context_block(&format!(
                "… {dropped} more part{} not shown",
                if dropped == 1 { "" } else { "s" }
            )));
        }
    }
    body.extend(tail);

    json!({
        "text": truncate(&escape(&message.to_plain()), limit::FALLBACK_TEXT),
        "blocks": body,
    })
}

/// A form as a modal view for `views.open`. `private_metadata` comes back
/// untouched in the submission (see
/// [`crate::slack::inbound::ViewMetadata`] for what we put there); Slack
/// allows 3,000 characters of it.
pub fn modal_view(form: &Form, private_metadata: &str) -> Value {
    let blocks: Vec<Value> = form
        .inputs
        .iter()
        .take(limit::BLOCKS_PER_VIEW)
        .map(input_block)
        .collect();
    json!({
        "type": "modal",
        "callback_id": form.id,
        "title": plain_text(&form.title, limit::VIEW_TITLE),
        "submit": plain_text(&form.submit_label, limit::VIEW_BUTTON),
        "close": plain_text("Cancel", limit::VIEW_BUTTON),
        "private_metadata": private_metadata,
        "blocks": blocks,
    })
}

/// One `input` block; block id and action id are both the input id, which
/// is what the submission's values are keyed by.
/// <https://api.slack.com/reference/block-kit/blocks#input>
fn input_block(input: &FormInput) -> Value {
    let initial = input.initial.as_deref();
    let element = match &input.kind {
        FormInputKind::Line | FormInputKind::Paragraph => {
            let mut element = json!({
                "type": "plain_text_input",
                "action_id": input.id,
            });
            if input.kind == FormInputKind::Paragraph {
                element["multiline"] = json!(true);
            }
            if let Some(initial) = initial {
                element["initial_value"] = json!(truncate(initial, limit::INITIAL_VALUE));
            }
            element
        }
        FormInputKind::Select { options } => {
            let options: Vec<Value> = options
                .iter()
                .take(limit::SELECT_OPTIONS)
                .map(|(value, label)| option(value, label))
                .collect();
            let mut element = json!({
                "type": "static_select",
                "action_id": input.id,
                "options": options,
            });
            // Slack rejects an initial option that is not one of the
            // options, byte for byte, so it is copied from the list.
            if let Some(chosen) = initial.and_then(|initial| {
                options
                    .iter()
                    .find(|option| option["value"] == json!(initial))
            }) {
                element["initial_option"] = chosen.clone();
            }
            element
        }
        FormInputKind::User => {
            let mut element = json!({
                "type": "users_select",
                "action_id": input.id,
            });
            if let Some(user) = initial.filter(|id| is_plain_id(id)) {
                element["initial_user"] = json!(user);
            }
            element
        }
        FormInputKind::Checkbox => {
            // One box whose value is "true", so the submission reads
            // "true" when ticked, as the neutral model promises.
            let ticked = option("true", &input.label);
            let mut element = json!({
                "type": "checkboxes",
                "action_id": input.id,
                "options": [ticked.clone()],
            });
            if initial == Some("true") {
                element["initial_options"] = json!([ticked]);
            }
            element
        }
    };
    json!({
        "type": "input",
        "block_id": input.id,
        "label": plain_text(&input.label, limit::INPUT_LABEL),
        "optional": !input.required,
        "element": element,
    })
}

/// <https://api.slack.com/reference/block-kit/block-elements#button>
fn button(button: &Button) -> Value {
    let mut element = json!({
        "type": "button",
        "action_id": button.action_id,
        "text": plain_text(&button.label, limit::BUTTON_TEXT),
        "value": truncate(&button.value, limit::BUTTON_VALUE),
    });
    match button.style {
        ButtonStyle::Default => {}
        ButtonStyle::Primary => element["style"] = json!("primary"),
        ButtonStyle::Danger => element["style"] = json!("danger"),
    }
    if let Some(url) = &button.url {
        element["url"] = json!(truncate(url, limit::BUTTON_URL));
    }
    element
}

/// <https://api.slack.com/reference/block-kit/composition-objects#option>
fn option(value: &str, label: &str) -> Value {
    json!({
        "text": plain_text(label, limit::OPTION_TEXT),
        "value": truncate(value, limit::OPTION_VALUE),
    })
}

fn context_block(text: &str) -> Value {
    json!({
        "type": "context",
        "elements": [mrkdwn_text(text, limit::CONTEXT_TEXT)],
    })
}

/// A `plain_text` object; Slack shows it literally, so nothing is escaped.
fn plain_text(text: &str, max_chars: usize) -> Value {
    json!({ "type": "plain_text", "text": truncate(text, max_chars) })
}

/// A `mrkdwn` object from already-rendered mrkdwn.
fn mrkdwn_text(text: &str, max_chars: usize) -> Value {
    json!({ "type": "mrkdwn", "text": truncate_mrkdwn(text, max_chars) })
}

/// Slack's three escapes for text that is not markup.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Wraps `text` in a mrkdwn marker (`*bold*`). Slack only honours a marker
/// that touches a word, so surrounding spaces go outside it.
fn wrap(text: &str, marker: char) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return escape(text);
    }
    let start = text.len() - text.trim_start().len();
    let end = start + trimmed.len();
    format!(
        "{}{marker}{}{marker}{}",
        &text[..start],
        escape(trimmed),
        &text[end..]
    )
}

/// Ids we are willing to put inside `<@…>`: anything else (a name, a
/// stray `>`) would break out of the mention.
fn is_plain_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// At most `max_chars` characters, the last one `…` when cut.
fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some(_) => {
            let keep: String = text.chars().take(max_chars.saturating_sub(1)).collect();
            format!("{keep}…")
        }
    }
}

/// Like [`truncate`], but never cuts through a `<…>` link or mention or an
/// `&…;` entity, which would leave broken markup on screen.
fn truncate_mrkdwn(text: &str, max_chars: usize) -> String {
    if text.char_indices().nth(max_chars).is_none() {
        return text.to_owned();
    }
    let mut keep: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    if let Some(open) = keep.rfind('<') {
        if keep[open..].find('>').is_none() {
            keep.truncate(open);
        }
    }
    if let Some(amp) = keep.rfind('&') {
        if keep[amp..].find(';').is_none() {
            keep.truncate(amp);
        }
    }
    keep.push('…');
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refs::UserRef;

    fn ana() -> UserRef {
        UserRef::new(Platform::Slack, "U024BE7LH").with_name("ana")
    }

    fn button(action_id: &str, label: &str, style: ButtonStyle) -> Button {
        Button::action(action_id, label, "INC-42").with_style(style)
    }

    #[test]
    fn a_link_button_carries_its_url() {
        let message = Message::text("x").with_button(Button::link(
            "incident.page",
            "Incident page",
            "https://fb.test/incidents/INC-1",
        ));
        let payload = message_payload(&message);
        let element = &blocks(&payload)[1]["elements"][0];
        assert_eq!(element["url"], "https://fb.test/incidents/INC-1");
        assert_eq!(element["text"]["text"], "Incident page");
    }

    fn blocks(payload: &Value) -> &Vec<Value> {
        payload["blocks"].as_array().expect("blocks is an array")
    }

    #[test]
    fn an_incident_headline_renders_as_header_sections_actions_and_context() {
        let bo = UserRef::new(Platform::Matrix, "@bo:example.org").with_name("Bo");
        let message = Message::rich(
            RichText::plain("Checkout & payments failing since 14:02, lead ").mention(ana()),
        )
        .with_heading("INC-42: Payments failing")
        .with_field("Severity", RichText::new().strong("1 (critical)"))
        .with_field("Status", RichText::plain("investigating"))
        .with_button(button("acknowledge", "Acknowledge", ButtonStyle::Primary))
        .with_button(button("resolve", "Resolve", ButtonStyle::Danger))
        .with_button(button("timeline", "Timeline", ButtonStyle::Default))
        .with_context(
            RichText::plain("declared by ")
                .mention(bo)
                .text(" · ")
                .link("runbook", "https://runbooks.example/pay?team=1&view=full"),
        );
        assert_eq!(
            message_payload(&message),
            json!({
                "text": "INC-42: Payments failing\nCheckout &amp; payments failing since 14:02, lead @ana\nSeverity: 1 (critical)\nStatus: investigating\n[Acknowledge]\n[Resolve]\n[Timeline]\ndeclared by @Bo · runbook",
                "blocks": [
                    {
                        "type": "header",
                        "text": { "type": "plain_text", "text": "INC-42: Payments failing" }
                    },
                    {
                        "type": "section",
                        "text": {
                            "type": "mrkdwn",
                            "text": "Checkout &amp; payments failing since 14:02, lead <@U024BE7LH>"
                        }
                    },
                    {
                        "type": "section",
                        "fields": [
                            { "type": "mrkdwn", "text": "*Severity*\n*1 (critical)*" },
                            { "type": "mrkdwn", "text": "*Status*\ninvestigating" }
                        ]
                    },
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "button",
                                "action_id": "acknowledge",
                                "text": { "type": "plain_text", "text": "Acknowledge" },
                                "value": "INC-42",
                                "style": "primary"
                            },
                            {
                                "type": "button",
                                "action_id": "resolve",
                                "text": { "type": "plain_text", "text": "Resolve" },
                                "value": "INC-42",
                                "style": "danger"
                            },
                            {
                                "type": "button",
                                "action_id": "timeline",
                                "text": { "type": "plain_text", "text": "Timeline" },
                                "value": "INC-42"
                            }
                        ]
                    },
                    {
                        "type": "context",
                        "elements": [
                            {
                                "type": "mrkdwn",
                                "text": "declared by Bo · <https://runbooks.example/pay?team=1&amp;view=full|runbook>"
                            }
                        ]
                    }
                ]
            })
        );
    }

    #[test]
    fn a_form_renders_as_a_modal_with_one_input_block_per_input() {
        let form = Form {
            id: "declare".into(),
            title: "Declare an incident".into(),
            submit_label: "Declare".into(),
            inputs: vec![
                FormInput {
                    id: "title".into(),
                    label: "Title".into(),
                    kind: FormInputKind::Line,
                    required: true,
                    initial: Some("Checkout failing".into()),
                },
                FormInput {
                    id: "summary".into(),
                    label: "What is happening?".into(),
                    kind: FormInputKind::Paragraph,
                    required: false,
                    initial: None,
                },
                FormInput {
                    id: "severity".into(),
                    label: "Severity".into(),
                    kind: FormInputKind::Select {
                        options: vec![
                            ("1".into(), "1 (critical)".into()),
                            ("2".into(), "2 (major)".into()),
                        ],
                    },
                    required: true,
                    initial: Some("2".into()),
                },
                FormInput {
                    id: "lead".into(),
                    label: "Incident lead".into(),
                    kind: FormInputKind::User,
                    required: false,
                    initial: Some("U024BE7LH".into()),
                },
                FormInput {
                    id: "private".into(),
                    label: "Private channel".into(),
                    kind: FormInputKind::Checkbox,
                    required: false,
                    initial: Some("true".into()),
                },
            ],
        };
        assert_eq!(
            modal_view(&form, r#"{"channel":"C123ABC456"}"#),
            json!({
                "type": "modal",
                "callback_id": "declare",
                "title": { "type": "plain_text", "text": "Declare an incident" },
                "submit": { "type": "plain_text", "text": "Declare" },
                "close": { "type": "plain_text", "text": "Cancel" },
                "private_metadata": "{\"channel\":\"C123ABC456\"}",
                "blocks": [
                    {
                        "type": "input",
                        "block_id": "title",
                        "label": { "type": "plain_text", "text": "Title" },
                        "optional": false,
                        "element": {
                            "type": "plain_text_input",
                            "action_id": "title",
                            "initial_value": "Checkout failing"
                        }
                    },
                    {
                        "type": "input",
                        "block_id": "summary",
                        "label": { "type": "plain_text", "text": "What is happening?" },
                        "optional": true,
                        "element": {
                            "type": "plain_text_input",
                            "action_id": "summary",
                            "multiline": true
                        }
                    },
                    {
                        "type": "input",
                        "block_id": "severity",
                        "label": { "type": "plain_text", "text": "Severity" },
                        "optional": false,
                        "element": {
                            "type": "static_select",
                            "action_id": "severity",
                            "options": [
                                { "text": { "type": "plain_text", "text": "1 (critical)" }, "value": "1" },
                                { "text": { "type": "plain_text", "text": "2 (major)" }, "value": "2" }
                            ],
                            "initial_option": {
                                "text": { "type": "plain_text", "text": "2 (major)" },
                                "value": "2"
                            }
                        }
                    },
                    {
                        "type": "input",
                        "block_id": "lead",
                        "label": { "type": "plain_text", "text": "Incident lead" },
                        "optional": true,
                        "element": {
                            "type": "users_select",
                            "action_id": "lead",
                            "initial_user": "U024BE7LH"
                        }
                    },
                    {
                        "type": "input",
                        "block_id": "private",
                        "label": { "type": "plain_text", "text": "Private channel" },
                        "optional": true,
                        "element": {
                            "type": "checkboxes",
                            "action_id": "private",
                            "options": [
                                { "text": { "type": "plain_text", "text": "Private channel" }, "value": "true" }
                            ],
                            "initial_options": [
                                { "text": { "type": "plain_text", "text": "Private channel" }, "value": "true" }
                            ]
                        }
                    }
                ]
            })
        );
    }

    #[test]
    fn user_text_cannot_inject_markup() {
        let text = RichText::plain("<!channel> & <https://evil.example|click>")
            .strong("<b>")
            .code("a<b");
        assert_eq!(
            mrkdwn(&text),
            "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;*&lt;b&gt;*`a&lt;b`"
        );
    }

    #[test]
    fn links_keep_their_url_intact() {
        let text = RichText::new()
            .link("a|b <c>", "https://x.example/?q=a|b&r=<1>")
            .text(" ")
            .link("", "https://bare.example");
        assert_eq!(
            mrkdwn(&text),
            "<https://x.example/?q=a%7Cb&amp;r=&lt;1&gt;|a|b &lt;c&gt;> <https://bare.example>"
        );
    }

    #[test]
    fn mentions_ping_slack_users_and_name_everyone_else() {
        let text = RichText::new()
            .mention(ana())
            .text(" ")
            .mention(UserRef::new(Platform::Teams, "29:1abc").with_name("Cy <ops>"))
            .text(" ")
            .mention(UserRef::new(Platform::Slack, "U1> <!channel"));
        assert_eq!(
            mrkdwn(&text),
            "<@U024BE7LH> Cy &lt;ops&gt; U1&gt; &lt;!channel"
        );
    }

    #[test]
    fn strong_and_code_markers_hug_the_words() {
        let text = RichText::plain("sev")
            .strong(" 1 ")
            .code("`rm -rf`")
            .strong("  ");
        assert_eq!(mrkdwn(&text), "sev *1* `'rm -rf'`  ");
    }

    #[test]
    fn long_headings_are_cut_to_slacks_limit_with_an_ellipsis() {
        let message = Message::text("body").with_heading("x".repeat(200));
        let payload = message_payload(&message);
        let heading = payload["blocks"][0]["text"]["text"]
            .as_str()
            .expect("header text");
        assert_eq!(heading.chars().count(), 150);
        assert!(heading.ends_with('…'));
    }

    #[test]
    fn long_paragraphs_are_cut_without_breaking_a_link() {
        let text = RichText::plain("a".repeat(2990)).link("runbook", "https://runbooks.example");
        let payload = message_payload(&Message::rich(text));
        let section = payload["blocks"][0]["text"]["text"]
            .as_str()
            .expect("section text");
        assert_eq!(section, format!("{}…", "a".repeat(2990)));
        let escaped = RichText::plain(format!("{}&", "a".repeat(2997)));
        let payload = message_payload(&Message::rich(escaped));
        assert_eq!(
            payload["blocks"][0]["text"]["text"],
            json!(format!("{}…", "a".repeat(2997)))
        );
    }

    #[test]
    fn more_than_ten_fields_spill_into_another_section() {
        let message = (0..12).fold(Message::default(), |message, n| {
            message.with_field(format!("F{n}"), RichText::plain("v"))
        });
        let payload = message_payload(&message);
        let sections = blocks(&payload);
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0]["fields"].as_array().map(Vec::len), Some(10));
        assert_eq!(sections[1]["fields"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn an_oversized_message_keeps_fifty_blocks_and_its_buttons() {
        let message = (0..80)
            .fold(Message::default(), |message, n| {
                message.with_paragraph(RichText::plain(format!("update {n}")))
            })
            .with_button(button("acknowledge", "Acknowledge", ButtonStyle::Primary))
            .with_context(RichText::plain("small print"));
        let payload = message_payload(&message);
        let rendered = blocks(&payload);
        assert_eq!(rendered.len(), limit::BLOCKS_PER_MESSAGE);
        assert_eq!(rendered[46]["text"]["text"], json!("update 46"));
        assert_eq!(
            rendered[47]["elements"][0]["text"],
            json!("… 33 more parts not shown")
        );
        assert_eq!(rendered[48]["type"], json!("actions"));
        assert_eq!(rendered[49]["elements"][0]["text"], json!("small print"));
    }

    #[test]
    fn empty_paragraphs_are_left_out() {
        let message = Message::rich(RichText::new()).with_paragraph(RichText::plain("kept"));
        let payload = message_payload(&message);
        assert_eq!(blocks(&payload).len(), 1);
        assert_eq!(payload["blocks"][0]["text"]["text"], json!("kept"));
    }

    #[test]
    fn modal_titles_and_buttons_fit_slacks_24_characters() {
        let form = Form {
            id: "f".into(),
            title: "Declare a brand new incident now".into(),
            submit_label: "Declare the incident right away".into(),
            inputs: vec![],
        };
        let view = modal_view(&form, "");
        let title = view["title"]["text"].as_str().expect("title text");
        assert_eq!(title, "Declare a brand new inc…");
        assert_eq!(title.chars().count(), 24);
        assert_eq!(
            view["submit"]["text"].as_str().map(|t| t.chars().count()),
            Some(24)
        );
    }

    #[test]
    fn an_initial_choice_that_is_not_an_option_is_left_out() {
        let form = Form {
            id: "f".into(),
            title: "Severity".into(),
            submit_label: "Save".into(),
            inputs: vec![FormInput {
                id: "severity".into(),
                label: "Severity".into(),
                kind: FormInputKind::Select {
                    options: vec![("1".into(), "1".into())],
                },
                required: true,
                initial: Some("9".into()),
            }],
        };
        let view = modal_view(&form, "");
        assert!(view["blocks"][0]["element"].get("initial_option").is_none());
    }
}
