//! What a workspace defines for everyone, through two nodes: saved segments and custom fields.

use serde_json::{Value, json};

use crate::support::{create_account, json_of, request, setup, subscribe, wait_for_event};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segment_is_removed_by_name_an_unknown_one_is_404_and_a_viewer_is_refused() {
    let setup = setup().await;
    let saved = json_of(
        setup.sales,
        "POST",
        "/api/segments",
        Some(json!({ "name": "Big deals", "filter": { "open_deal": true } })),
    )
    .await;
    assert_eq!(saved["name"], "Big deals");

    let (status, text) = request(
        setup.viewer,
        "POST",
        "/api/segments/Big%20deals/remove",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 403, "{text}");
    let (status, text) = request(
        setup.sales,
        "POST",
        "/api/segments/Nope/remove",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("Nope"), "the error names it: {text}");
    assert_eq!(
        json_of(setup.sales, "GET", "/api/segments", None).await,
        json!([saved]),
        "refusals change nothing"
    );

    let removed = json_of(
        setup.sales,
        "POST",
        "/api/segments/Big%20deals/remove",
        Some(json!({})),
    )
    .await;
    assert_eq!(removed, json!({ "name": "Big deals", "removed": 1 }));
    assert_eq!(
        json_of(setup.sales, "GET", "/api/segments", None).await,
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_field_defined_on_one_node_checks_values_on_the_other_and_removal_keeps_them() {
    let setup = setup().await;
    let mut support_events = subscribe(setup.support).await;
    wait_for_event(&mut support_events, "status", "\"state\":\"online\"").await;
    let region = json!({ "name": "region", "type": "choice", "label": "Region",
                         "options": ["EMEA", "APAC"] });
    let (status, text) = request(setup.sales, "POST", "/api/fields", Some(region.clone())).await;
    assert_eq!(status, 201, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({ "name": "region", "label": "Region", "type": "choice", "options": ["EMEA", "APAC"] })
    );
    let refused = [
        (setup.sales, region.clone(), 409),
        (setup.sales, json!({ "name": "a b", "type": "text" }), 400),
        (
            setup.sales,
            json!({ "name": "size", "type": "colour" }),
            400,
        ),
        (
            setup.sales,
            json!({ "name": "size", "type": "choice" }),
            400,
        ),
        (setup.viewer, json!({ "name": "size", "type": "text" }), 403),
    ];
    for (node, body, expected) in refused {
        let (status, text) = request(node, "POST", "/api/fields", Some(body.clone())).await;
        assert_eq!(status, expected, "POST /api/fields {body}: {text}");
    }

    // The definition reaches the support node live, as a change of the workspace.
    while json_of(setup.support, "GET", "/api/fields", None).await != json!([region]) {
        wait_for_event(&mut support_events, "changed", "\"workspace\":true").await;
    }
    let id = create_account(setup.support, json!({ "name": "Initech" })).await;
    let set = |value: &str| json!({ "fields": { "custom.region": value, "tier": "gold" } });
    let path = format!("/api/accounts/{id}/fields");
    let (status, text) = request(setup.support, "POST", &path, Some(set("Mars"))).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("expected one of EMEA, APAC"), "{text}");
    let account = json_of(setup.support, "GET", &format!("/api/accounts/{id}"), None).await;
    assert_eq!(
        account["tier"],
        Value::Null,
        "a refused value changes nothing"
    );
    assert_eq!(
        account["custom_fields"],
        json!([{ "name": "region", "label": "Region", "type": "choice",
                 "options": ["EMEA", "APAC"], "value": null, "valid": true }])
    );
    let (status, text) = request(setup.support, "POST", &path, Some(set("apac"))).await;
    assert_eq!(status, 204, "{text}");
    let account = json_of(setup.support, "GET", &format!("/api/accounts/{id}"), None).await;
    assert_eq!(account["custom"], json!({ "region": "APAC" }));

    let (status, text) = request(setup.viewer, "DELETE", "/api/fields/region", None).await;
    assert_eq!(status, 403, "{text}");
    let (status, text) = request(setup.support, "DELETE", "/api/fields/region", None).await;
    assert_eq!(status, 204, "{text}");
    let (status, text) = request(setup.support, "DELETE", "/api/fields/region", None).await;
    assert_eq!(status, 404, "{text}");
    let account = json_of(setup.support, "GET", &format!("/api/accounts/{id}"), None).await;
    assert_eq!(
        account["custom_fields"],
        json!([{ "name": "region", "label": "region", "type": null, "value": "APAC",
                 "valid": true }]),
        "the value stays, as a field nobody defined"
    );
}
