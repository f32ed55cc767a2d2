//! The Slack app manifest (<https://api.slack.com/reference/manifests>)
//! for `firebreak slack manifest --url …`: everything the app needs —
//! scopes, events, the slash command, shortcuts and interactivity — so
//! installing is paste, review, install.

use serde_json::{json, Value};

/// Callback ids of the shortcuts; the interactions route answers them.
pub const DECLARE_SHORTCUT: &str = "declare_incident";
pub const DECLARE_FROM_MESSAGE: &str = "declare_incident_from_message";

/// The manifest for a Firebreak reachable at `base_url`.
pub fn manifest(base_url: &str) -> Value {
    let base = base_url.trim_end_matches('/');
    json!({
        "_metadata": { "major_version": 1, "minor_version": 1 },
        "display_information": {
            "name": "Firebreak",
            "description": "Declare, run and close incidents without leaving Slack.",
            "background_color": "#8b1a1a"
        },
        "features": {
            "bot_user": { "display_name": "Firebreak", "always_online": true },
            "slash_commands": [{
                "command": "/incident",
                "url": format!("{base}/slack/commands"),
                "description": "Declare an incident, or run an incident command in its channel",
                "usage_hint": "[title] | severity 1 | lead @someone | help",
                "should_escape": true
            }],
            "shortcuts": [
                {
                    "name": "Declare incident",
                    "type": "global",
                    "callback_id": DECLARE_SHORTCUT,
                    "description": "Open the declare dialog"
                },
                {
                    "name": "Declare incident from this message",
                    "type": "message",
                    "callback_id": DECLARE_FROM_MESSAGE,
                    "description": "Declare an incident about this message"
                }
            ]
        },
        "oauth_config": {
            "scopes": {
                "bot": [
                    "app_mentions:read",
                    "channels:history",
                    "channels:join",
                    "channels:manage",
                    "channels:read",
                    "chat:write",
                    "chat:write.public",
                    "commands",
                    "groups:history",
                    "groups:read",
                    "groups:write",
                    "pins:read",
                    "pins:write",
                    "reactions:read",
                    "reactions:write",
                    "users:read"
                ]
            }
        },
        "settings": {
            "event_subscriptions": {
                "request_url": format!("{base}/slack/events"),
                "bot_events": [
                    "app_mention",
                    "channel_rename",
                    "member_joined_channel",
                    "message.channels",
                    "message.groups",
                    "pin_added",
                    "reaction_added"
                ]
            },
            "interactivity": {
                "is_enabled": true,
                "request_url": format!("{base}/slack/interactions")
            },
            "org_deploy_enabled": false,
            "socket_mode_enabled": false,
            "token_rotation_enabled": false
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_points_at_the_given_server() {
        let manifest = manifest("https://bot.example.com/");
        assert_eq!(
            manifest["features"]["slash_commands"][0]["url"],
            "https://bot.example.com/slack/commands"
        );
        assert_eq!(
            manifest["settings"]["event_subscriptions"]["request_url"],
            "https://bot.example.com/slack/events"
        );
        assert_eq!(
            manifest["settings"]["interactivity"]["request_url"],
            "https://bot.example.com/slack/interactions"
        );
    }

    #[test]
    fn it_asks_for_what_the_bot_uses() {
        let manifest = manifest("https://bot.example.com");
        let scopes = manifest["oauth_config"]["scopes"]["bot"]
            .as_array()
            .expect("scopes");
        for needed in [
            "channels:manage",
            "chat:write",
            "commands",
            "pins:write",
            "users:read",
            "groups:write",
        ] {
            assert!(scopes.iter().any(|scope| scope == needed), "{needed}");
        }
        let events = manifest["settings"]["event_subscriptions"]["bot_events"]
            .as_array()
            .expect("events");
        for needed in [
            "app_mention",
            "reaction_added",
            "pin_added",
            "member_joined_channel",
            "channel_rename",
        ] {
            assert!(events.iter().any(|event| event == needed), "{needed}");
        }
    }
}
