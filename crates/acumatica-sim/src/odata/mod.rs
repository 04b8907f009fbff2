//! OData feeds over the same generated data: generic inquiries (GI) over OData v4
//! (`/t/<tenant>/api/odata/gi`) and legacy v3 (`/odata/<tenant>`), and DACs over OData v4
//! (`/t/<tenant>/api/odata/dac`). Service documents, `$metadata` (EDMX), and `$filter`,
//! `$select`, `$top`, `$skip`, `$orderby`. Inquiries with parameters answer
//! `<GI>_WithParameters(Name='value')` (or `(Name=@1)?@1='value'`); DACs answer key lookups
//! (`SOOrder(OrderType='SO',OrderNbr='SO000058')`) and `$expand` of their navigation
//! properties with nested options (`Nav($select=A;$expand=Other)`), three levels deep.
//! Everything the I300 course's Postman collection asks is served.
//!
//! The modules follow a request: `segments` reads the URL, `catalog` knows the sets, `query`
//! evaluates the options over the rows `rows` derives (`navigation` follows keys and
//! navigation properties), and `response` writes the answer; `edmx` describes the feeds.

mod catalog;
mod edmx;
mod navigation;
mod query;
mod response;
mod rows;
mod segments;

pub use catalog::Feed;
pub use edmx::{metadata, service};
pub use query::query;
pub use response::ODataError;
