//! The admin API described as OpenAPI 3.0, served at
//! `/api/v1/openapi.json`. Written out by hand (a derive crate would cost
//! more build time than the document is long); a test checks that every
//! route registered under `/api/v1` is in it.

use actix_web::HttpResponse;
use serde_json::{json, Value};

pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

fn id_parameter() -> Value {
    json!({
        "name": "id", "in": "path", "required": true,
        "description": "The incident: `INC-42` or `42`.",
        "schema": {"type": "string"}
    })
}

fn errors(codes: &[&str]) -> Value {
    let mut responses = serde_json::Map::new();
    for code in codes {
        let description = match *code {
            "400" => "The request is malformed.",
            "401" => "No or a wrong bearer token.",
            "404" => "No such incident.",
            "409" => "The command was refused by the incident's rules.",
            "422" => "The body is not the JSON expected.",
            _ => "The database or engine is unavailable.",
        };
        responses.insert(
            (*code).to_owned(),
            json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    }
    Value::Object(responses)
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

pub fn document() -> Value {
    let json_of = |schema: &str| json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}});
    let period = [
        json!({"name": "since", "in": "query", "schema": {"type": "string"}, "description": "RFC 3339 time or date (inclusive)"}),
        json!({"name": "until", "in": "query", "schema": {"type": "string"}, "description": "RFC 3339 time or date (exclusive)"}),
    ];
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Firebreak admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Incidents, their timelines and reports, and statistics. Every call needs `Authorization: Bearer <token>` unless the server runs without a token on loopback."
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/incidents": {
                "get": {
                    "summary": "List incidents, newest first",
                    "parameters": [
                        {"name": "status", "in": "query", "schema": {"type": "string"}, "description": "Comma-separated statuses"},
                        {"name": "severity", "in": "query", "schema": {"type": "string"}, "description": "Comma-separated severities, by number or name"},
                        {"name": "platform", "in": "query", "schema": {"type": "string", "enum": ["api", "memory", "slack", "teams", "matrix"]}},
                        period[0], period[1],
                        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "Text in the title or summary"},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "`next_cursor` of the previous page"}
                    ],
                    "responses": merge(json!({"200": {"description": "A page of incidents", "content": json_of("IncidentPage")}}), errors(&["400", "401"]))
                },
                "post": {
                    "summary": "Declare an incident (or record a past one with `report`)",
                    "requestBody": {"required": true, "content": json_of("Declaration")},
                    "responses": merge(json!({"201": {"description": "Declared", "content": json_of("Incident")}}), errors(&["400", "401", "422"]))
                }
            },
            "/api/v1/incidents/{id}": {
                "get": {
                    "summary": "One incident with its roles and follow-up actions",
                    "parameters": [id_parameter()],
                    "responses": merge(json!({"200": {"description": "The incident", "content": json_of("IncidentDetail")}}), errors(&["401", "404"]))
                }
            },
            "/api/v1/incidents/{id}/timeline": {
                "get": {
                    "summary": "The incident's timeline: every change, oldest first",
                    "parameters": [id_parameter()],
                    "responses": merge(json!({"200": {"description": "The timeline", "content": json_of("Timeline")}}), errors(&["401", "404"]))
                },
                "post": {
                    "summary": "Add an entry the timeline is missing, at the time it happened",
                    "parameters": [id_parameter()],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["text", "at"],
                        "properties": {"text": {"type": "string"}, "at": {"type": "string", "format": "date-time"}, "user": {"type": "string"}}
                    }}}},
                    "responses": merge(json!({"201": {"description": "Added"}}), errors(&["400", "401", "404", "409", "422"]))
                },
                "patch": {
                    "summary": "Correct an entry's text; the original stays in the event log",
                    "parameters": [id_parameter()],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["seq", "text"],
                        "properties": {"seq": {"type": "integer"}, "text": {"type": "string"}, "user": {"type": "string"}}
                    }}}},
                    "responses": merge(json!({"200": {"description": "Corrected"}}), errors(&["400", "401", "404", "409", "422"]))
                }
            },
            "/api/v1/incidents/{id}/commands": {
                "post": {
                    "summary": "Run a chat command (`severity 1`, `lead @ana`, …) on the incident",
                    "parameters": [id_parameter()],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["text"],
                        "properties": {"text": {"type": "string"}, "user": {"type": "string", "description": "Who runs it; `api` by default"}}
                    }}}},
                    "responses": merge(json!({"200": {"description": "Applied", "content": {"application/json": {"schema": {
                        "type": "object",
                        "properties": {"text": {"type": "string"}, "changes": {"type": "integer"}, "incident": {"$ref": "#/components/schemas/Incident"}}
                    }}}}}), errors(&["400", "401", "404", "409", "503"]))
                }
            },
            "/api/v1/incidents/{id}/report.md": {
                "get": {
                    "summary": "The post-incident report as Markdown",
                    "parameters": [id_parameter()],
                    "responses": merge(json!({"200": {"description": "The report", "content": {"text/markdown": {"schema": {"type": "string"}}}}}), errors(&["401", "404"]))
                }
            },
            "/api/v1/stats": {
                "get": {
                    "summary": "Counts and median / p90 response times over a period",
                    "parameters": [period[0], period[1]],
                    "responses": merge(json!({"200": {"description": "Statistics", "content": json_of("Stats")}}), errors(&["400", "401"]))
                }
            },
            "/api/v1/alerts": {
                "get": {
                    "summary": "Groups of alerts recorded without an incident (too mild to open one), latest first",
                    "responses": merge(json!({"200": {"description": "`{\"recorded\": [{source, group_key, status, alerts, first_seen, last_seen}]}`"}}), errors(&["401"]))
                }
            },
            "/api/v1/alerts/{kind}": {
                "post": {
                    "summary": "An alert delivery from Alertmanager, Grafana or anything else (`generic`)",
                    "description": "Authenticated by the source's own `Authorization: Bearer <token>` or HMAC signature header, not the API token. Stored, then filed with an incident: its group's open one, a storm's first, or a new one. The same delivery twice is stored once.",
                    "security": [],
                    "parameters": [{"name": "kind", "in": "path", "required": true, "schema": {"type": "string", "enum": ["alertmanager", "grafana", "generic"]}}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
                    "responses": merge(json!({"202": {"description": "`{\"status\": \"accepted\"}` or `\"duplicate\"`"}}), errors(&["400", "401", "404"]))
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3 document"}}
                }
            }
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "User": {"type": "object", "required": ["platform", "id"], "properties": {
                    "platform": {"type": "string"}, "id": {"type": "string"}, "name": {"type": "string"}
                }},
                "Incident": {"type": "object", "required": ["id", "reference", "title", "status", "severity"], "properties": {
                    "id": {"type": "integer"}, "reference": {"type": "string", "example": "INC-42"},
                    "title": {"type": "string"}, "summary": {"type": "string", "nullable": true}, "impact": {"type": "string", "nullable": true},
                    "status": {"type": "string", "enum": ["triage", "investigating", "mitigated", "resolved", "closed", "declined"]},
                    "severity": {"type": "integer", "minimum": 1, "maximum": 4}, "severity_name": {"type": "string"},
                    "platform": {"type": "string"}, "private": {"type": "boolean"}, "report_only": {"type": "boolean"},
                    "reporter": {"$ref": "#/components/schemas/User"},
                    "lead": {"allOf": [{"$ref": "#/components/schemas/User"}], "nullable": true},
                    "conversation_id": {"type": "string", "nullable": true},
                    "started_at": {"type": "string", "format": "date-time"}, "declared_at": {"type": "string", "format": "date-time"},
                    "acknowledged_at": {"type": "string", "format": "date-time", "nullable": true},
                    "mitigated_at": {"type": "string", "format": "date-time", "nullable": true},
                    "resolved_at": {"type": "string", "format": "date-time", "nullable": true},
                    "closed_at": {"type": "string", "format": "date-time", "nullable": true},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "url": {"type": "string"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}}
                }},
                "IncidentPage": {"type": "object", "properties": {
                    "incidents": {"type": "array", "items": {"$ref": "#/components/schemas/Incident"}},
                    "next_cursor": {"type": "string", "nullable": true}
                }},
                "IncidentDetail": {"type": "object", "properties": {
                    "incident": {"$ref": "#/components/schemas/Incident"},
                    "roles": {"type": "array", "items": {"type": "object", "properties": {"role": {"type": "string"}, "user": {"$ref": "#/components/schemas/User"}}}},
                    "actions": {"type": "array", "items": {"type": "object", "properties": {
                        "number": {"type": "integer"}, "text": {"type": "string"},
                        "created_at": {"type": "string", "format": "date-time"}, "done_at": {"type": "string", "format": "date-time", "nullable": true}
                    }}}
                }},
                "Declaration": {"type": "object", "required": ["title"], "properties": {
                    "title": {"type": "string"}, "severity": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                    "summary": {"type": "string"}, "impact": {"type": "string"}, "reporter": {"type": "string"},
                    "lead": {"type": "string"}, "platform": {"type": "string"}, "private": {"type": "boolean"},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "report": {"type": "object", "description": "Record a past incident: its start and end times"}
                }},
                "Timeline": {"type": "object", "properties": {
                    "incident": {"type": "string"},
                    "entries": {"type": "array", "items": {"type": "object", "properties": {
                        "seq": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
                        "kind": {"type": "string"}, "text": {"type": "string"},
                        "original_text": {"type": "string", "description": "Before the review corrected it"},
                        "actor": {"$ref": "#/components/schemas/User"}
                    }}}
                }},
                "Stats": {"type": "object", "properties": {
                    "total": {"type": "integer"},
                    "by_severity": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "by_status": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "times": {"type": "array", "items": {"type": "object"}},
                    "by_platform": {"type": "array", "items": {"type": "array"}},
                    "busiest_labels": {"type": "array", "items": {"type": "array"}, "description": "[\"service=payments\", count], busiest first"},
                    "weeks": {"type": "array", "items": {"type": "object"}}
                }}
            }
        }
    })
}
