//! Lifecycle and protection against a real PostgreSQL server: a lifecycle setting is desired
//! state (a change alone is an in-place update, recorded on every part of a tenant without a
//! statement on the server), protection blocks destroy, a removed manifest and a replace until
//! it is turned off and applied, the deletion policies decide once it is off, a manifest that
//! opts into deletion needs no waiver, and a field removed from a manifest returns to its
//! default.

use crate::apply::{Lab, Tenant};
use crate::{assert_code, change, text};

/// The plan as JSON: every change by address.
fn json_plan(lab: &Lab, args: &[&str]) -> serde_json::Value {
    let output = lab.run(&[&["plan", "tenants.yaml", "--format", "json"][..], args].concat());
    serde_json::from_str(&super::stdout(&output)).unwrap_or_else(|error| {
        panic!("{error}\n{}", text(&output));
    })
}

const PARTS: [&str; 3] = ["role", "database", "connection-secret"];

#[test]
fn a_lifecycle_change_alone_updates_every_part_in_the_state_only() {
    let lab = Lab::start();
    let mut app = Tenant::new("app");
    app.protected = true;
    app.delete = false;
    lab.manifests(std::slice::from_ref(&app));
    assert_code(&lab.apply(), 0);
    let password = lab.env_secret("app");

    // Protection off and Delete policies: an update of each part, shown before -> after.
    app.protected = false;
    app.delete = true;
    lab.manifests(std::slice::from_ref(&app));
    let planned = lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]);
    assert_code(&planned, 2);
    let shown = super::stdout(&planned);
    for part in PARTS {
        assert!(
            shown.contains(&format!(
                "TenantDatabase/app/{part} will be updated in place (in the state only: nothing changes remotely)"
            )),
            "{shown}"
        );
    }
    assert!(
        shown.contains("~ lifecycle.deletion_protection = true -> false"),
        "{shown}"
    );
    assert!(
        shown.contains("~ lifecycle.deletion_policy     = Orphan -> Delete"),
        "{shown}"
    );
    assert!(shown.contains("Plan: 0 to create, 3 to update"), "{shown}");
    let markdown = lab.run(&["plan", "tenants.yaml", "--format", "markdown"]);
    assert!(
        super::stdout(&markdown).contains("lifecycle.deletion_protection = true -> false"),
        "{}",
        text(&markdown)
    );
    let plan = json_plan(&lab, &[]);
    for part in PARTS {
        let update = change(&plan, &format!("TenantDatabase/app/{part}"));
        assert_eq!(update["action"], "update");
        assert_eq!(update["lifecycle_before"]["deletion_protection"], true);
        assert_eq!(update["lifecycle_before"]["deletion_policy"], "Orphan");
        assert_eq!(update["lifecycle"]["deletion_protection"], false);
        assert_eq!(update["lifecycle"]["deletion_policy"], "Delete");
        assert_eq!(update["lifecycle"]["deletion_opted_in"], true);
        assert_eq!(update["changed_attributes"], serde_json::json!([]));
    }

    // Apply records it without a statement on the server (the log shows none), and the
    // password is the same.
    let log_before = lab.server.log().len();
    let applied = lab.apply();
    assert_code(&applied, 0);
    assert!(
        super::stdout(&applied).contains("3 updated"),
        "{}",
        text(&applied)
    );
    let log = lab.server.log();
    let after_apply = &log[log_before.min(log.len())..];
    assert!(
        !after_apply.contains("ALTER") && !after_apply.contains("GRANT"),
        "{after_apply}"
    );
    assert_eq!(lab.env_secret("app"), password);
    assert_code(
        &lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]),
        0,
    );

    // The whole tenant picked up the new policy: destroy drops role, database and secret,
    // without any waiver.
    let destroyed = lab.run(&["destroy", "tenants.yaml", "--auto-approve"]);
    assert_code(&destroyed, 0);
    assert!(!text(&destroyed).contains("DB701"), "{}", text(&destroyed));
    assert!(lab.databases().is_empty());
    assert!(lab.roles().is_empty());
    assert!(!lab.path("secrets/app.env").exists());
}

#[test]
fn protection_blocks_destroy_a_removed_manifest_and_a_replace_until_it_is_applied_off() {
    let lab = Lab::start();
    let mut guarded = Tenant::new("guarded");
    guarded.protected = true;
    guarded.delete = false;
    lab.manifests(std::slice::from_ref(&guarded));
    assert_code(&lab.apply(), 0);
    let untouched = |lab: &Lab| {
        assert_eq!(lab.databases(), ["guarded"]);
        assert_eq!(lab.roles(), ["guarded_user"]);
        assert!(lab.path("secrets/guarded.env").exists());
    };

    // destroy: every part is blocked (an Orphan policy too), exit 1, nothing touched.
    let refused = lab.run(&["destroy", "tenants.yaml", "--auto-approve"]);
    assert_code(&refused, 1);
    let shown = text(&refused);
    for part in PARTS {
        assert!(
            shown.contains(&format!(
                "TenantDatabase/guarded/{part} has deletion protection on, so it cannot be orphaned"
            )),
            "{shown}"
        );
    }
    assert!(
        shown.contains("turn it off (`deletion_protection: false`) and apply that first"),
        "{shown}"
    );
    untouched(&lab);

    // The manifest removed: blocked too, in plan and in apply.
    lab.manifests(&[]);
    let planned = lab.run(&["plan", "tenants.yaml"]);
    assert_code(&planned, 1);
    assert!(
        super::stdout(&planned).contains("This plan is blocked: 3 changes may not be applied"),
        "{}",
        text(&planned)
    );
    assert_code(&lab.apply(), 1);
    untouched(&lab);

    // A replace (another database name) is blocked as well.
    let mut renamed = guarded.clone();
    renamed.database_name = Some("guarded2".to_owned());
    lab.manifests(std::slice::from_ref(&renamed));
    let replaced = lab.run(&["plan", "tenants.yaml"]);
    assert_code(&replaced, 1);
    assert!(
        super::stdout(&replaced).contains(
            "TenantDatabase/guarded/database has deletion protection on, so it cannot be replaced"
        ),
        "{}",
        text(&replaced)
    );
    untouched(&lab);

    // Protection off (Orphan kept) and applied: destroy orphans every part, which stay.
    guarded.protected = false;
    lab.manifests(std::slice::from_ref(&guarded));
    assert_code(&lab.apply(), 0);
    let orphaned = lab.run(&["destroy", "tenants.yaml", "--auto-approve"]);
    assert_code(&orphaned, 0);
    assert!(!text(&orphaned).contains("DB701"), "{}", text(&orphaned));
    untouched(&lab);
    let listed = super::stdout(&lab.run(&["state", "list"]));
    assert!(!listed.contains("TenantDatabase/guarded"), "{listed}");
}

#[test]
fn an_explicit_delete_needs_no_waiver_but_a_forced_replace_still_does() {
    let lab = Lab::start();
    let scratch = Tenant::new("scratch");
    let mut kept = Tenant::new("kept");
    kept.delete = false;
    lab.manifests(&[scratch.clone(), kept.clone()]);
    assert_code(&lab.apply(), 0);

    // A replace forced by an attribute is not what `Delete` opted into: DB701 blocks it.
    let mut renamed = scratch.clone();
    renamed.database_name = Some("scratch2".to_owned());
    lab.manifests(&[renamed.clone(), kept.clone()]);
    let replaced = lab.run(&["plan", "tenants.yaml"]);
    // Exit 3: refused by policy.
    assert_code(&replaced, 3);
    assert!(
        text(&replaced).contains("error[DB701]") && text(&replaced).contains("is replaced"),
        "{}",
        text(&replaced)
    );
    assert_eq!(lab.databases(), ["kept", "scratch"]);
    // With a waiver it goes ahead.
    renamed.waiver = Some("scratch data; owner=test");
    lab.manifests(&[renamed.clone(), kept.clone()]);
    assert_code(&lab.apply(), 0);
    assert_eq!(lab.databases(), ["kept", "scratch2"]);

    // The manifest removed: the Delete tenant is dropped with its role and secret, the Orphan
    // one (unprotected) is left in place with its secret; neither needs a waiver.
    lab.manifests(&[]);
    let applied = lab.apply();
    assert_code(&applied, 0);
    assert!(!text(&applied).contains("DB701"), "{}", text(&applied));
    assert_eq!(lab.databases(), ["kept"]);
    assert_eq!(lab.roles(), ["kept_user"]);
    assert!(!lab.path("secrets/scratch.env").exists());
    assert!(lab.path("secrets/kept.env").exists());
}

#[test]
fn a_removed_connection_limit_and_extension_return_to_their_defaults() {
    let lab = Lab::start();
    let mut shop = Tenant::new("shop");
    shop.connection_limit = Some(5);
    shop.extensions = vec!["pgcrypto".to_owned()];
    lab.manifests(std::slice::from_ref(&shop));
    assert_code(&lab.apply(), 0);
    let limit = |lab: &Lab| {
        lab.sql(
            "postgres",
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'shop_user'",
        )
    };
    assert_eq!(limit(&lab), "5");

    shop.connection_limit = None;
    shop.extensions = Vec::new();
    lab.manifests(std::slice::from_ref(&shop));
    let planned = lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]);
    assert_code(&planned, 2);
    let shown = super::stdout(&planned);
    assert!(shown.contains("~ connection_limit = 5 -> -1"), "{shown}");
    assert!(shown.contains("~ extensions"), "{shown}");
    assert!(shown.contains("-   \"pgcrypto\""), "{shown}");
    assert!(shown.contains("+ []"), "{shown}");
    assert_code(&lab.apply(), 0);
    assert_eq!(limit(&lab), "-1");
    assert_eq!(
        lab.sql(
            "shop",
            "SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'"
        ),
        "0"
    );
    assert_code(
        &lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]),
        0,
    );
}

/// A state recorded before deletion opt-ins were recorded: its records have no
/// `deletion_opted_in`. Made here by exporting a state, dropping the field from every record
/// and importing it back (with the document's checksum recomputed, as an older dbplan wrote it).
fn as_recorded_by_an_older_dbplan(lab: &Lab) {
    let exported = lab.run(&["state", "export", "--out", "state.json"]);
    assert_code(&exported, 0);
    let mut document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lab.path("state.json")).unwrap()).unwrap();
    let resources = document["state"]["resources"].as_object_mut().unwrap();
    let mut dropped = 0;
    for record in resources.values_mut() {
        let lifecycle = record["lifecycle"].as_object_mut().unwrap();
        if lifecycle.remove("deletion_opted_in").is_some() {
            dropped += 1;
        }
    }
    assert!(dropped > 0, "{document}");
    document["checksum"] = crate::state::sha256(&document["state"].to_string()).into();
    std::fs::write(
        lab.path("older.json"),
        serde_json::to_string_pretty(&document).unwrap(),
    )
    .unwrap();
    assert_code(&lab.run(&["state", "import", "older.json", "--force"]), 0);
}

#[test]
fn an_older_record_that_did_not_opt_in_is_guarded_until_its_manifest_is_applied_again() {
    let lab = Lab::start();
    let scratch = Tenant::new("scratch");
    lab.manifests(std::slice::from_ref(&scratch));
    assert_code(&lab.apply(), 0);
    as_recorded_by_an_older_dbplan(&lab);

    // The manifest removed while the records do not say that deletion was opted into: DB701
    // blocks dropping the database (exit 3), and nothing is dropped.
    lab.manifests(&[]);
    let removed = lab.run(&["plan", "tenants.yaml"]);
    assert_code(&removed, 3);
    assert!(
        text(&removed).contains("error[DB701]"),
        "{}",
        text(&removed)
    );
    assert_code(&lab.apply(), 3);
    assert_eq!(lab.databases(), ["scratch"]);

    // The manifest applied once more records the opt-in, in the state only.
    lab.manifests(std::slice::from_ref(&scratch));
    let migrated = lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]);
    assert_code(&migrated, 2);
    assert!(
        super::stdout(&migrated).contains("(in the state only: nothing changes remotely)")
            && super::stdout(&migrated).contains("lifecycle.deletion_opted_in"),
        "{}",
        text(&migrated)
    );
    assert_code(&lab.apply(), 0);
    assert_code(
        &lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]),
        0,
    );

    // Now the removal is the reviewed intent: dropped without a waiver.
    lab.manifests(&[]);
    let applied = lab.apply();
    assert_code(&applied, 0);
    assert!(!text(&applied).contains("DB701"), "{}", text(&applied));
    assert!(lab.databases().is_empty(), "{:?}", lab.databases());
}
