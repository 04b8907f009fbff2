//! The Flight SQL service: statements, prepared statements and the metadata calls clients use
//! to browse (catalogs, schemas, tables, table types, SQL info, primary keys).
//!
//! Longer than most files (about 740 lines) because it is one implementation of the
//! `FlightSqlService` trait, whose methods read best side by side.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};

use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError as ArrowFlightError;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, Any, CommandGetCatalogs, CommandGetDbSchemas,
    CommandGetPrimaryKeys, CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables,
    CommandPreparedStatementQuery, CommandStatementQuery, CommandStatementUpdate,
    DoPutPreparedStatementResult, ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse, IpcMessage,
    SchemaAsIpc, Ticket,
};
use datafusion::arrow::array::{Int32Builder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::ipc::writer::IpcWriteOptions;
use datafusion::common::Constraint;
use datafusion::error::DataFusionError;
use datafusion::prelude::{DataFrame, SessionContext};
use futures::{Stream, StreamExt, TryStreamExt};
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

use acumatica_datafusion::StatementPolicy;

use crate::auth::{Authenticator, FlightAuth};
use crate::handle::PreparedHandle;
use crate::{FlightError, TlsFiles};

type DoGetStream = Pin<Box<dyn Stream<Item = Result<arrow_flight::FlightData, Status>> + Send>>;

/// What the server tells clients about itself; read-only unless writes are allowed.
fn sql_info(read_only: bool) -> SqlInfoData {
    let mut b = SqlInfoDataBuilder::new();
    b.append(SqlInfo::FlightSqlServerName, "acusql");
    b.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    b.append(SqlInfo::FlightSqlServerArrowVersion, "1.3");
    b.append(SqlInfo::FlightSqlServerReadOnly, read_only);
    b.append(SqlInfo::FlightSqlServerSql, true);
    b.append(SqlInfo::FlightSqlServerSubstrait, false);
    b.append(SqlInfo::FlightSqlServerTransaction, 0_i32);
    b.append(SqlInfo::FlightSqlServerCancel, false);
    b.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    // A fixed set of keys cannot fail to build.
    b.build()
        .unwrap_or_else(|_| SqlInfoDataBuilder::new().build().expect("empty SqlInfo"))
}

static SQL_INFO: LazyLock<SqlInfoData> = LazyLock::new(|| sql_info(true));
static SQL_INFO_WRITABLE: LazyLock<SqlInfoData> = LazyLock::new(|| sql_info(false));

/// A Flight SQL server over one [`SessionContext`].
#[derive(Clone)]
pub struct FlightSqlServer {
    ctx: SessionContext,
    auth: Arc<Authenticator>,
    policy: StatementPolicy,
}

impl FlightSqlServer {
    /// A server with the strict statement policy: read-only, no file access
    /// ([`StatementPolicy::server`]).
    pub fn new(ctx: SessionContext, auth: FlightAuth) -> Self {
        Self {
            ctx,
            auth: Arc::new(Authenticator::new(auth)),
            policy: StatementPolicy::server(),
        }
    }

    /// Replaces the statement policy (e.g. to allow writes to Acumatica).
    pub fn with_policy(mut self, policy: StatementPolicy) -> Self {
        self.policy = policy;
        self
    }

    fn sql_info(&self) -> &'static SqlInfoData {
        if self.policy.allows_writes() {
            &SQL_INFO_WRITABLE
        } else {
            &SQL_INFO
        }
    }

    /// Serves until `shutdown` completes. Refuses a non-loopback address without
    /// authentication.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        tls: Option<TlsFiles>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), FlightError> {
        let addr: Option<SocketAddr> = listener.local_addr().ok();
        if let Some(addr) = addr
            && !addr.ip().is_loopback()
            && !self.auth.is_required()
        {
            return Err(FlightError::AuthRequired {
                addr: addr.to_string(),
            });
        }
        let mut builder = Server::builder();
        if let Some(tls) = tls {
            let read = |what: &'static str, path: &std::path::Path| {
                std::fs::read(path).map_err(|source| FlightError::TlsFile {
                    what,
                    path: path.display().to_string(),
                    source,
                })
            };
            let identity =
                Identity::from_pem(read("certificate", &tls.cert)?, read("key", &tls.key)?);
            builder = builder.tls_config(ServerTlsConfig::new().identity(identity))?;
        }
        builder
            .add_service(FlightServiceServer::new(self))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                shutdown,
            )
            .await?;
        Ok(())
    }

    /// A context for one request: shares catalogs and the upstream connection, but a `SET`
    /// by one client does not change another's session.
    fn session(&self) -> SessionContext {
        SessionContext::new_with_state(self.ctx.state())
    }

    async fn plan(
        &self,
        sql: &str,
        params: Vec<datafusion::common::ScalarValue>,
    ) -> Result<DataFrame, Status> {
        let sql = number_placeholders(sql);
        // Client SQL is checked before anything runs: no files, no DDL, no settings.
        let df = self
            .policy
            .sql(&self.session(), &sql)
            .await
            .map_err(to_status)?;
        if params.is_empty() {
            Ok(df)
        } else {
            df.with_param_values(params).map_err(to_status)
        }
    }

    fn info(
        &self,
        schema: &Schema,
        ticket: Vec<u8>,
        descriptor: FlightDescriptor,
    ) -> Result<FlightInfo, Status> {
        let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(ticket));
        Ok(FlightInfo::new()
            .try_with_schema(schema)
            .map_err(|e| Status::internal(format!("cannot encode schema: {e}")))?
            .with_endpoint(endpoint)
            .with_descriptor(descriptor))
    }

    /// Streams a plan's batches as Flight data, with exactly the schema FlightInfo announced.
    async fn stream(&self, df: DataFrame) -> Result<Response<DoGetStream>, Status> {
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let batches = df.execute_stream().await.map_err(to_status)?;
        let declared = schema.clone();
        let batches = batches.map(move |r| {
            r.map(|b| RecordBatch::try_new(declared.clone(), b.columns().to_vec()).unwrap_or(b))
                .map_err(|e| ArrowFlightError::ExternalError(Box::new(e)))
        });
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(batches)
            .map_err(Status::from);
        Ok(Response::new(Box::pin(stream)))
    }

    fn batch_stream(
        schema: SchemaRef,
        batch: Result<RecordBatch, DataFusionError>,
    ) -> Response<DoGetStream> {
        let batch = batch.map_err(|e| ArrowFlightError::ExternalError(Box::new(e)));
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(futures::stream::once(async move { batch }))
            .map_err(Status::from);
        Response::new(Box::pin(stream))
    }
}

/// JDBC/ODBC/ADBC clients write `?` placeholders; DataFusion numbers them (`$1`, `$2`, …).
/// Question marks inside quotes or comments are left alone.
fn number_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '-') if chars.peek() == Some(&'-') => {
                out.push(c);
                for c in chars.by_ref() {
                    out.push(c);
                    if c == '\n' {
                        break;
                    }
                }
                continue;
            }
            (None, '?') => {
                n += 1;
                out.push_str(&format!("${n}"));
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// A DataFusion error as the gRPC status a client can act on, with a short message (the
/// did-you-mean hint, never the list of all columns).
fn to_status(e: DataFusionError) -> Status {
    let message = acumatica_datafusion::error_summary(&e, 300);
    if acumatica_datafusion::policy::refusal(&e).is_some() {
        return Status::permission_denied(message);
    }
    let root = e.find_root();
    if let DataFusionError::External(inner) = root {
        use acumatica_datafusion::write::{WriteFailed, WriteRefused};
        if inner.is::<WriteRefused>() {
            return Status::failed_precondition(message);
        }
        if inner.is::<WriteFailed>() {
            // Stopped part way: some records may be changed (the message says how many).
            return Status::aborted(message);
        }
    }
    if let Some(upstream) = acumatica_datafusion::client_error(&e) {
        return match upstream {
            acumatica_client::Error::RateLimited { .. } | acumatica_client::Error::LoginLimit => {
                Status::resource_exhausted(message)
            }
            acumatica_client::Error::Transport { .. } => Status::unavailable(message),
            acumatica_client::Error::Server { status: 404, .. } => Status::not_found(message),
            _ => Status::internal(message),
        };
    }
    match root {
        DataFusionError::Plan(text) if text.contains("not found") => Status::not_found(message),
        DataFusionError::SQL(..)
        | DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::ArrowError(..)
        | DataFusionError::Execution(_) => Status::invalid_argument(message),
        DataFusionError::NotImplemented(_) => Status::unimplemented(message),
        _ => Status::internal(message),
    }
}

/// The records a statement changed: the `count` a write returns; -1 ("unknown", as Flight
/// SQL defines it) for a statement that is not a write.
fn affected(batches: &[RecordBatch]) -> i64 {
    let mut total: Option<i64> = None;
    for b in batches {
        if b.num_columns() != 1 || b.schema().field(0).name() != "count" {
            return -1;
        }
        let Some(counts) = b
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::UInt64Array>()
        else {
            return -1;
        };
        for n in counts.iter().flatten() {
            total = Some(
                total
                    .unwrap_or(0)
                    .saturating_add(i64::try_from(n).unwrap_or(i64::MAX)),
            );
        }
    }
    total.unwrap_or(-1)
}

fn arrow_to_df(e: datafusion::arrow::error::ArrowError) -> DataFusionError {
    DataFusionError::ArrowError(Box::new(e), None)
}

fn flight_to_df(e: ArrowFlightError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

#[tonic::async_trait]
impl FlightSqlService for FlightSqlServer {
    type FlightService = FlightSqlServer;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>,
        Status,
    > {
        let token = self.auth.handshake(request.metadata())?;
        let reply = HandshakeResponse {
            protocol_version: 0,
            payload: token.clone().into(),
        };
        let stream: Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>> =
            Box::pin(futures::stream::iter([Ok(reply)]));
        let mut response = Response::new(stream);
        let header = MetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| Status::internal("cannot build the authorization header"))?;
        response.metadata_mut().insert("authorization", header);
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.auth.check(request.metadata())?;
        let df = self.plan(&query.query, Vec::new()).await?;
        let ticket = TicketStatementQuery {
            statement_handle: query.query.into_bytes().into(),
        };
        let info = self.info(
            df.schema().as_arrow(),
            ticket.as_any().encode_to_vec(),
            request.into_inner(),
        )?;
        Ok(Response::new(info))
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.auth.check(request.metadata())?;
        let sql = std::str::from_utf8(&ticket.statement_handle)
            .map_err(|_| Status::invalid_argument("statement ticket is not UTF-8"))?;
        let df = self.plan(sql, Vec::new()).await?;
        self.stream(df).await
    }

    /// `INSERT`/`UPDATE`/`DELETE` (when the policy allows writes): the records changed.
    async fn do_put_statement_update(
        &self,
        command: CommandStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        self.auth.check(request.metadata())?;
        let df = self.plan(&command.query, Vec::new()).await?;
        let batches = df.collect().await.map_err(to_status)?;
        Ok(affected(&batches))
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<arrow_flight::Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        self.auth.check(request.metadata())?;
        let df = self.plan(&query.query, Vec::new()).await?;
        let mut params: Vec<(usize, String, DataType)> = df
            .logical_plan()
            .get_parameter_types()
            .map_err(to_status)?
            .into_iter()
            .map(|(id, t)| {
                let n = id.trim_start_matches('$').parse().unwrap_or(usize::MAX);
                (n, id, t.unwrap_or(DataType::Null))
            })
            .collect();
        params.sort();
        let param_schema = Schema::new(
            params
                .into_iter()
                .map(|(_, id, t)| Field::new(id, t, true))
                .collect::<Vec<_>>(),
        );
        let ipc = |schema: &Schema| -> Result<bytes::Bytes, Status> {
            let IpcMessage(bytes) = SchemaAsIpc::new(schema, &IpcWriteOptions::default())
                .try_into()
                .map_err(|e: datafusion::arrow::error::ArrowError| {
                    Status::internal(format!("cannot encode schema: {e}"))
                })?;
            Ok(bytes)
        };
        let handle = PreparedHandle {
            sql: query.query,
            params: None,
        };
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.encode()?,
            dataset_schema: ipc(df.schema().as_arrow())?,
            parameter_schema: ipc(&param_schema)?,
        })
    }

    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        self.auth.check(request.metadata())?;
        let mut handle = PreparedHandle::decode(&query.prepared_statement_handle)?;
        let data = request
            .into_inner()
            .map_err(|s| ArrowFlightError::Tonic(Box::new(s)));
        let batches: Vec<RecordBatch> = FlightRecordBatchStream::new_from_flight_data(data)
            .try_collect()
            .await
            .map_err(|e| Status::invalid_argument(format!("cannot read parameters: {e}")))?;
        handle.params = batches.into_iter().rfind(|b| b.num_rows() > 0);
        // Fail early on a bad binding rather than at execution.
        handle.values()?;
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(handle.encode()?),
        })
    }

    async fn get_flight_info_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.auth.check(request.metadata())?;
        let handle = PreparedHandle::decode(&query.prepared_statement_handle)?;
        let df = self.plan(&handle.sql, handle.values()?).await?;
        let info = self.info(
            df.schema().as_arrow(),
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )?;
        Ok(Response::new(info))
    }

    async fn do_get_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.auth.check(request.metadata())?;
        let handle = PreparedHandle::decode(&query.prepared_statement_handle)?;
        let df = self.plan(&handle.sql, handle.values()?).await?;
        self.stream(df).await
    }

    async fn do_action_close_prepared_statement(
        &self,
        _query: ActionClosePreparedStatementRequest,
        request: Request<arrow_flight::Action>,
    ) -> Result<(), Status> {
        // Handles carry all their state; there is nothing to release.
        self.auth.check(request.metadata())
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.auth.check(request.metadata())?;
        let schema = query.into_builder().schema();
        Ok(Response::new(self.info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )?))
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.auth.check(request.metadata())?;
        let mut b = query.into_builder();
        let mut names = self.ctx.catalog_names();
        names.sort();
        for name in names {
            b.append(name);
        }
        let schema = b.schema();
        Ok(Self::batch_stream(schema, b.build().map_err(flight_to_df)))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.auth.check(request.metadata())?;
        let schema = query.clone().into_builder().schema();
        Ok(Response::new(self.info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )?))
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.auth.check(request.metadata())?;
        let mut b = query.into_builder();
        for (catalog, schema) in self.schemas() {
            b.append(catalog, schema);
        }
        let schema = b.schema();
        Ok(Self::batch_stream(schema, b.build().map_err(flight_to_df)))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.auth.check(request.metadata())?;
        let schema = query.clone().into_builder().schema();
        Ok(Response::new(self.info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )?))
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.auth.check(request.metadata())?;
        let include_schema = query.include_schema;
        let catalog_filter = query.catalog.clone();
        let mut b = query.into_builder();
        for (catalog_name, schema_name) in self.schemas() {
            if catalog_filter.as_deref().is_some_and(|c| c != catalog_name) {
                continue;
            }
            let Some(schema) = self
                .ctx
                .catalog(&catalog_name)
                .and_then(|c| c.schema(&schema_name))
            else {
                continue;
            };
            let mut tables = schema.table_names();
            tables.sort();
            for table in tables {
                let table_type = if schema_name == "information_schema" {
                    "VIEW"
                } else {
                    "TABLE"
                };
                let table_schema = if include_schema {
                    match schema.table(&table).await.map_err(to_status)? {
                        Some(t) => t.schema(),
                        None => continue,
                    }
                } else {
                    Arc::new(Schema::empty())
                };
                b.append(
                    &catalog_name,
                    &schema_name,
                    &table,
                    table_type,
                    &table_schema,
                )
                .map_err(|e| Status::internal(e.to_string()))?;
            }
        }
        let schema = b.schema();
        Ok(Self::batch_stream(schema, b.build().map_err(flight_to_df)))
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.auth.check(request.metadata())?;
        let schema = query.into_builder().schema();
        Ok(Response::new(self.info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )?))
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.auth.check(request.metadata())?;
        let mut b = query.into_builder();
        b.append("TABLE");
        b.append("VIEW");
        let schema = b.schema();
        Ok(Self::batch_stream(schema, b.build().map_err(flight_to_df)))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.auth.check(request.metadata())?;
        let schema = query.clone().into_builder(self.sql_info()).schema();
        Ok(Response::new(self.info(
            &schema,
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )?))
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.auth.check(request.metadata())?;
        let b = query.into_builder(self.sql_info());
        let schema = b.schema();
        Ok(Self::batch_stream(schema, b.build().map_err(flight_to_df)))
    }

    async fn get_flight_info_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.auth.check(request.metadata())?;
        Ok(Response::new(self.info(
            &primary_keys_schema(),
            query.as_any().encode_to_vec(),
            request.into_inner(),
        )?))
    }

    async fn do_get_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        self.auth.check(request.metadata())?;
        let schema = Arc::new(primary_keys_schema());
        let (mut cat, mut sch, mut tab, mut col, mut seq, mut name) = (
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            Int32Builder::new(),
            StringBuilder::new(),
        );
        for (catalog_name, schema_name) in self.schemas() {
            if query.catalog.as_deref().is_some_and(|c| c != catalog_name)
                || query.db_schema.as_deref().is_some_and(|s| s != schema_name)
            {
                continue;
            }
            let Some(schema_provider) = self
                .ctx
                .catalog(&catalog_name)
                .and_then(|c| c.schema(&schema_name))
            else {
                continue;
            };
            let Some(table) = schema_provider
                .table(&query.table)
                .await
                .map_err(to_status)?
            else {
                continue;
            };
            let table_schema = table.schema();
            for constraint in table
                .constraints()
                .map(|c| c.iter().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
            {
                if let Constraint::PrimaryKey(indices) = constraint {
                    for (i, idx) in indices.iter().enumerate() {
                        cat.append_value(&catalog_name);
                        sch.append_value(&schema_name);
                        tab.append_value(&query.table);
                        col.append_value(table_schema.field(*idx).name());
                        seq.append_value(i32::try_from(i + 1).unwrap_or(i32::MAX));
                        name.append_null();
                    }
                }
            }
        }
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(cat.finish()),
                Arc::new(sch.finish()),
                Arc::new(tab.finish()),
                Arc::new(col.finish()),
                Arc::new(seq.finish()),
                Arc::new(name.finish()),
            ],
        )
        .map_err(arrow_to_df);
        Ok(Self::batch_stream(schema, batch))
    }

    async fn do_get_fallback(
        &self,
        _request: Request<Ticket>,
        message: Any,
    ) -> Result<Response<DoGetStream>, Status> {
        Err(Status::unimplemented(format!(
            "acusql does not support the Flight SQL request {}",
            message.type_url
        )))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

impl FlightSqlServer {
    /// `(catalog, schema)` pairs, sorted.
    fn schemas(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for catalog_name in self.ctx.catalog_names() {
            if let Some(catalog) = self.ctx.catalog(&catalog_name) {
                for schema in catalog.schema_names() {
                    out.push((catalog_name.clone(), schema));
                }
            }
        }
        out.sort();
        out
    }
}

/// The result schema of GetPrimaryKeys, as the Flight SQL specification defines it.
fn primary_keys_schema() -> Schema {
    Schema::new(vec![
        Field::new("catalog_name", DataType::Utf8, true),
        Field::new("db_schema_name", DataType::Utf8, true),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("column_name", DataType::Utf8, false),
        Field::new("key_sequence", DataType::Int32, false),
        Field::new("key_name", DataType::Utf8, true),
    ])
}

// `FlightService` is implemented for every `FlightSqlService` by arrow-flight.
const _: fn() = || {
    fn assert_service<T: FlightService>() {}
    assert_service::<FlightSqlServer>();
};

#[cfg(test)]
mod tests {
    use super::number_placeholders;

    #[test]
    fn numbers_question_marks_outside_quotes() {
        assert_eq!(
            number_placeholders("SELECT '?' AS q, a FROM t WHERE a = ? AND b = ? -- ?\n"),
            "SELECT '?' AS q, a FROM t WHERE a = $1 AND b = $2 -- ?\n"
        );
    }
}
