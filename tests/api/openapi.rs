//! The OpenAPI document describes every admin API route that exists.

use crate::support::{TestApp, TestDatabase};

/// `(method, path)` of every route registered under `/api/v1`, read from
/// the one place routes are registered.
fn registered_routes() -> Vec<(String, String)> {
    let source = include_str!("../../src/routes/mod.rs");
    let scope = source
        .split("web::scope(\"/api/v1\")")
        .nth(1)
        .expect("the /api/v1 scope is registered");
    let scope = &scope[..scope.find(".app_data(").unwrap_or(scope.len())];
    let mut routes = Vec::new();
    let mut rest = scope;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        let path = rest.split('"').nth(1).expect("a path").to_owned();
        let method = rest
            .split("web::")
            .nth(1)
            .and_then(|call| call.split('(').next())
            .expect("a method")
            .to_owned();
        routes.push((method, format!("/api/v1{path}")));
    }
    routes
}

#[tokio::test]
async fn every_admin_route_is_in_the_openapi_document() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    // Served without a token: it describes the API, it is not the API.
    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    let document: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(document["openapi"], "3.0.3");
    let routes = registered_routes();
    assert!(routes.len() >= 8, "{routes:?}");
    for (method, path) in &routes {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path} is registered but not in the OpenAPI document"
        );
    }
    let documented: usize = document["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|operations| operations.as_object().map_or(0, |o| o.len()))
        .sum();
    assert_eq!(
        documented,
        routes.len(),
        "and nothing is documented that does not exist"
    );
}
