//! The decoders against the shapes real and broken servers send.

use std::sync::Arc;

use acumatica_client::metadata::{CustomField, EndpointSchema, WrapperType};
use datafusion::arrow::util::pretty::pretty_format_batches;

use super::*;

fn table(entity: &str, detail: Option<&str>) -> TableDef {
    let s = EndpointSchema::bundled("Default", "24.200.001").unwrap();
    let e = s.entity(entity).unwrap();
    match detail {
        None => TableDef::entity_with_links(e, &s),
        Some(d) => {
            let target = match &e.fields.iter().find(|f| f.name == d).unwrap().kind {
                acumatica_client::metadata::FieldKind::Detail(t) => t.clone(),
                _ => unreachable!(),
            };
            TableDef::detail(e, d, s.entity(&target).unwrap())
        }
    }
}

/// Decodes `body` into a batch of the columns `cols` (by SQL name), with its record count.
fn decode_batch(
    def: &TableDef,
    cols: &[&str],
    body: &[u8],
) -> Result<(RecordBatch, usize), DecodeError> {
    let projection: Vec<usize> = cols
        .iter()
        .map(|c| def.columns.iter().position(|x| x.name == *c).unwrap())
        .collect();
    let schema = Arc::new(def.schema.project(&projection).unwrap());
    decode_page(def, &projection, &schema, body, 0)
}

/// Decodes `body` and prints the batch as a table.
fn decode(def: &TableDef, cols: &[&str], body: &str) -> Result<String, DecodeError> {
    let (batch, _) = decode_batch(def, cols, body.as_bytes())?;
    Ok(pretty_format_batches(&[batch]).unwrap().to_string())
}

#[test]
fn tolerant_of_the_real_shapes() {
    let def = table("SalesOrder", None).with_custom(&[CustomField {
        path: vec![],
        view: "Document".into(),
        field: "AttributePRODUCT".into(),
        kind: WrapperType::String,
    }]);
    let body = r#"[
      {"id":"a","rowNumber":1,"note":null,"OrderNbr":{"value":"SO1"},"OrderTotal":{"value":30.0000},
       "Date":{"value":"2024-01-31T23:30:00+02:00"},"Hold":{},"Unknown":{"value":[1,{"x":2}]},
       "ShipToContact":{"id":"c","Email":{"value":"a\"b@x"}},
       "custom":{"Document":{"AttributePRODUCT":{"type":"CustomStringField","value":"Jam"}}},"_links":{}},
      {"id":"b","OrderNbr":{"value":"SO2"},"OrderTotal":{"value":-0.5},"Date":{"value":null},
       "ShipToContact":null,"custom":{}},
      {"id":"c","Ord\u0065rNbr":{"value":"SO3"}}
    ]"#;
    let out = decode(
        &def,
        &[
            "id",
            "OrderNbr",
            "OrderTotal",
            "Date",
            "Hold",
            "ShipToContact_Email",
            "cf_Document_AttributePRODUCT",
        ],
        body,
    )
    .unwrap();
    assert!(
        out.contains("| a  | SO1      | 30.00000000 | 2024-01-31T21:30:00Z |      | a\"b@x"),
        "{out}"
    );
    assert!(out.contains("| Jam"), "{out}");
    assert!(out.contains("| b  | SO2      | -0.50000000 |"), "{out}");
    assert!(
        out.contains("| c  | SO3      |"),
        "escaped member names: {out}"
    );
}

#[test]
fn detail_lines_carry_their_parents_cells() {
    let def = table("SalesOrder", Some("Details"));
    let body = r#"[
      {"id":"p1","OrderType":{"value":"SO"},"Details":[
          {"id":"l1","InventoryID":{"value":"A"},"OrderQty":{"value":1.5}},
          {"id":"l2","InventoryID":{}}],"OrderNbr":{"value":"SO1"}},
      {"id":"p2","OrderType":{"value":"SO"},"OrderNbr":{"value":"SO2"},"Details":[]},
      {"id":"p3","OrderType":{"value":"SO"},"OrderNbr":{"value":"SO3"}}
    ]"#;
    let cols = ["OrderType", "OrderNbr", "InventoryID", "OrderQty"];
    let (batch, records) = decode_batch(&def, &cols, body.as_bytes()).unwrap();
    assert_eq!((batch.num_rows(), records), (2, 3));
    let out = pretty_format_batches(&[batch]).unwrap().to_string();
    assert!(
        out.contains("| SO        | SO1      | A           | 1.50000000 |"),
        "{out}"
    );
    assert!(
        out.contains("| SO        | SO1      |             |            |"),
        "{out}"
    );
}

#[test]
fn errors_name_the_row_and_field() {
    let def = table("Customer", None);
    let e = decode(
        &def,
        &["CustomerID", "CreditLimit"],
        r#"[{"CustomerID":{"value":"C1"}},{"CustomerID":{"value":"C2"},"CreditLimit":{"value":"lots"}}]"#,
    )
    .unwrap_err();
    assert_eq!((e.row, e.field.as_str()), (2, "CreditLimit"), "{e}");
    let e = decode(&def, &["CustomerID"], r#"[{"CustomerID":"C1"}]"#).unwrap_err();
    assert_eq!((e.row, e.field.as_str()), (1, "CustomerID"), "{e}");
    let e = decode(
        &def,
        &["CustomerID"],
        r#"{"message":"An error has occurred."}"#,
    )
    .unwrap_err();
    assert_eq!(e.field, "(page)");
    assert!(
        decode(
            &def,
            &["CustomerID"],
            "[{\"CustomerID\":{\"value\":\"C1\"}}] trailing"
        )
        .is_err()
    );
    let (batch, n) = decode_batch(&def, &[], b"[{},{}]").unwrap();
    assert_eq!(
        (batch.num_rows(), n),
        (2, 2),
        "COUNT(*) needs rows without columns"
    );
    let lines = table("SalesOrder", Some("Details"));
    let body = br#"[{"Details":[{},{}]},{"Details":[{}]}]"#;
    let (batch, n) = decode_batch(&lines, &[], body).unwrap();
    assert_eq!(
        (batch.num_rows(), n),
        (3, 2),
        "one row per line without columns"
    );
}

/// A hostile or broken server's values: each a clear error naming row and field, never a
/// panic, a wrapped number or a message as long as the value.
#[test]
fn hostile_values_are_clear_errors() {
    let def = table("Customer", None);
    let cols = ["CustomerID", "CustomerName", "CreditLimit", "BAccountID"];
    let forty = "1234567890123456789012345678901234567890";
    let cases: Vec<(String, &str, &str)> = vec![
        (
            r#"{"CreditLimit":{"value":"abc"}}"#.into(),
            "CreditLimit",
            "expected a decimal number, found \"abc\"",
        ),
        (
            r#"{"CreditLimit":{"value":true}}"#.into(),
            "CreditLimit",
            "expected a decimal number, found true",
        ),
        (
            r#"{"CreditLimit":{"value":{"a":1}}}"#.into(),
            "CreditLimit",
            "expected a decimal number",
        ),
        (
            format!(r#"{{"CreditLimit":{{"value":{forty}}}}}"#),
            "CreditLimit",
            "does not fit DECIMAL(38, 8)",
        ),
        (
            r#"{"CreditLimit":{"value":0e2000000000}}"#.into(),
            "CreditLimit",
            "does not fit",
        ),
        (
            r#"{"CreditLimit":{"value":1e2147483647}}"#.into(),
            "CreditLimit",
            "does not fit",
        ),
        (
            r#"{"CreditLimit":{"value":-0E+99999999999999999999}}"#.into(),
            "CreditLimit",
            "does not fit",
        ),
        (
            format!(r#"{{"BAccountID":{{"value":{forty}}}}}"#),
            "BAccountID",
            "expected a 32-bit integer",
        ),
        (
            r#"{"BAccountID":{"value":1e2147483647}}"#.into(),
            "BAccountID",
            "expected a 32-bit integer",
        ),
        (
            r#"{"BAccountID":{"value":"x"}}"#.into(),
            "BAccountID",
            "expected a 32-bit integer",
        ),
        (
            r#"{"CustomerName":{"value":{"a":1}}}"#.into(),
            "CustomerName",
            "expected a string, found {\"a\":1}",
        ),
        (
            r#"{"CustomerName":{"value":[1]}}"#.into(),
            "CustomerName",
            "expected a string",
        ),
        (
            r#"{"CustomerName":"plain"}"#.into(),
            "CustomerName",
            "wrapper",
        ),
        (r#"{"CustomerName":7}"#.into(), "CustomerName", "wrapper"),
    ];
    for (record, field, problem) in cases {
        let body = format!(r#"[{{"CustomerID":{{"value":"C1"}}}},{record}]"#);
        let e = decode(&def, &cols, &body).unwrap_err();
        assert_eq!((e.row, e.field.as_str()), (2, field), "{record}: {e}");
        assert!(e.problem.contains(problem), "{record}: {e}");
    }
    // Numbers the JSON reader itself refuses or the page around them is broken.
    for body in [
        "[1e2147483647]",
        "[0e2000000000]",
        &format!("[{forty}]"),
        r#"[{"CustomerID":{"value":"C1"}"#,
        "<html><head><title>Sign in</title></head></html>",
    ] {
        let e = decode(&def, &cols, body).unwrap_err();
        assert!(e.to_string().starts_with("cannot read Customer"), "{e}");
    }
    let e = decode(&def, &cols, "<!DOCTYPE html><html></html>").unwrap_err();
    assert!(e.problem.contains("HTML page"), "{e}");
}

#[test]
fn errors_quote_at_most_a_little_of_a_huge_value() {
    let def = table("Customer", None);
    let huge = "x".repeat(1_000_000);
    for record in [
        format!(r#"{{"CreditLimit":{{"value":"{huge}"}}}}"#),
        format!(r#"{{"CustomerName":"{huge}"}}"#),
        format!(r#"{{"CreatedDateTime":{{"value":"{huge}"}}}}"#),
    ] {
        let e = decode(
            &def,
            &["CustomerName", "CreditLimit", "CreatedDateTime"],
            &format!("[{record}]"),
        )
        .unwrap_err();
        assert!(e.to_string().len() < 500, "{} bytes", e.to_string().len());
    }
    // A huge string where a string belongs is a value like any other.
    let out = decode(
        &def,
        &["CustomerName"],
        &format!(r#"[{{"CustomerName":{{"value":"{huge}"}}}}]"#),
    )
    .unwrap();
    assert!(out.len() > huge.len());
}

/// An OData feed: flat rows, `null` members NULL, the server's next link handed back, and a
/// body that is not a feed named as such.
#[test]
fn odata_feeds_keep_their_next_link() {
    use acumatica_client::odata::{ODataKind, ODataSet};
    let set = ODataSet {
        name: "OpenInvoices".into(),
        keys: vec!["RefNbr".into()],
        properties: vec![
            ("RefNbr".into(), WrapperType::String),
            ("Amount".into(), WrapperType::Decimal),
        ],
    };
    let def = TableDef::odata(ODataKind::Gi, &set);
    let schema = def.schema.clone();
    let body = br#"{"value":[{"RefNbr":"A1","Amount":1.5},{"RefNbr":"A2","Amount":null}],
        "@odata.nextLink":"https://x/odata/OpenInvoices?$skiptoken=2"}"#;
    let (batch, n, next) = decode_odata_page(&def, &[0, 1], &schema, body, 0).unwrap();
    assert_eq!((batch.num_rows(), n), (2, 2));
    assert_eq!(
        next.as_deref(),
        Some("https://x/odata/OpenInvoices?$skiptoken=2")
    );
    let out = pretty_format_batches(&[batch]).unwrap().to_string();
    assert!(out.contains("| A1     | 1.50000000 |"), "{out}");
    assert!(out.contains("| A2     |            |"), "{out}");
    let e = decode_odata_page(&def, &[0, 1], &schema, b"[]", 0).unwrap_err();
    assert!(e.problem.contains("not an OData feed"), "{e}");
}
