//! The web pages: login, the list with its filters, an incident's page,
//! and text typed in chat rendered inert.

use crate::support::{TestApp, TestDatabase, TOKEN};
use serde_json::json;

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl TestApp {
    /// Logs in as a browser would; answers the session cookie.
    async fn log_in(&self, token: &str) -> Option<String> {
        let response = browser()
            .post(self.url("/login"))
            .form(&[("token", token), ("next", "/incidents/INC-1")])
            .send()
            .await
            .expect("login answered");
        assert_eq!(response.status(), 303);
        let location = response.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        let cookie = response
            .headers()
            .get("set-cookie")
            .map(|value| value.to_str().expect("cookie").to_owned());
        match &cookie {
            Some(cookie) => {
                assert_eq!(location, "/incidents/INC-1");
                for attribute in ["HttpOnly", "Secure", "SameSite=Strict"] {
                    assert!(cookie.contains(attribute), "{cookie}");
                }
            }
            None => assert!(location.starts_with("/login?failed=1"), "{location}"),
        }
        cookie.map(|cookie| cookie.split(';').next().unwrap_or_default().to_owned())
    }

    async fn page(&self, path: &str, cookie: Option<&str>) -> (u16, String) {
        let mut request = browser().get(self.url(path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.expect("page answered");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }
}

#[tokio::test]
async fn pages_need_a_login_and_show_incidents_with_typed_text_inert() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn(&database).await;
    let id = app
        .declare(json!({ "title": "<script>alert(1)</script> checkout", "severity": 1 }))
        .await["id"]
        .as_i64()
        .expect("id");
    app.command(id, "status mitigated").await;
    app.declare(json!({ "title": "Slow search", "severity": 3 }))
        .await;

    let (status, _) = app.page("/incidents", None).await;
    assert_eq!(status, 303, "not logged in: sent to the login form");
    let (status, form) = app.page("/login?next=/incidents", None).await;
    assert_eq!(status, 200);
    assert!(form.contains("type=\"password\""), "{form}");
    assert_eq!(app.log_in("wrong-token").await, None);
    let cookie = app.log_in(TOKEN).await.expect("logged in");
    let (status, _) = app
        .page("/incidents", Some("firebreak_session=1.forged"))
        .await;
    assert_eq!(status, 303, "a forged cookie is no session");

    let (status, list) = app.page("/incidents", Some(&cookie)).await;
    assert_eq!(status, 200);
    assert!(
        list.contains("&lt;script&gt;alert(1)&lt;/script&gt; checkout"),
        "{list}"
    );
    assert!(!list.contains("<script>"), "typed markup is inert");
    assert!(list.contains("Slow search"));
    let (_, mitigated) = app.page("/incidents?status=mitigated", Some(&cookie)).await;
    assert!(
        mitigated.contains("checkout") && !mitigated.contains("Slow search"),
        "{mitigated}"
    );
    let (_, sev3) = app.page("/incidents?severity=3", Some(&cookie)).await;
    assert!(
        !sev3.contains("checkout") && sev3.contains("Slow search"),
        "{sev3}"
    );
    let (status, _) = app.page("/incidents?status=sideways", Some(&cookie)).await;
    assert_eq!(status, 400);

    let (status, detail) = app
        .page(&format!("/incidents/INC-{id}"), Some(&cookie))
        .await;
    assert_eq!(status, 200);
    assert!(!detail.contains("<script>"));
    assert!(
        detail.contains("Status changed from triage to mitigated"),
        "{detail}"
    );
    assert!(detail.contains("Mitigated after"), "{detail}");
    let (status, report) = app
        .page(&format!("/incidents/INC-{id}/report"), Some(&cookie))
        .await;
    assert_eq!(status, 200);
    assert!(
        report.contains("Time to mitigate") && !report.contains("<script>"),
        "{report}"
    );
    let (status, _) = app.page(&format!("/incidents/INC-{id}/report"), None).await;
    assert_eq!(status, 303);
    let (status, _) = app.page("/incidents/INC-999", Some(&cookie)).await;
    assert_eq!(status, 404);
    let (status, _) = app.page("/incidents/not-an-id", Some(&cookie)).await;
    assert_eq!(status, 404);

    let logout = browser()
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("answered");
    assert_eq!(logout.status(), 303);
    let cleared = logout.headers()["set-cookie"].to_str().expect("cookie");
    assert!(
        cleared.starts_with("firebreak_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

#[tokio::test]
async fn pages_can_be_open_on_loopback() {
    let database = TestDatabase::new().await;
    let app = TestApp::spawn_with(&database, |settings| settings.web.open = true).await;
    let (status, list) = app.page("/incidents", None).await;
    assert_eq!(status, 200);
    assert!(list.contains("No incidents match."));
}
