//! One client connection: its session (search path, settings), the simple and the extended
//! query protocol, and the statements answered here rather than by DataFusion (`SET` of
//! Postgres session settings, `SHOW`, `BEGIN`/`COMMIT`/`ROLLBACK`, …).
//!
//! Every other statement is planned by DataFusion in the connection's session and checked by
//! the statement policy before anything runs: a refused one (`COPY` of server files, DDL,
//! DataFusion `SET`, writes) ends with SQLSTATE 42501 and has done nothing.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, OnceLock};

use acumatica_datafusion::StatementPolicy;
use async_trait::async_trait;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::UInt64Type;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{LogicalPlan, WriteOp};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use futures::{Sink, SinkExt, StreamExt, TryStreamExt};
use pgwire::api::auth::DefaultServerParameterProvider;
use pgwire::api::auth::StartupHandler;
use pgwire::api::cancel::CancelHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler, send_describe_response};
use pgwire::api::results::{
    CopyResponse, DataRowEncoder, DescribePortalResponse, FieldInfo, QueryResponse, Response, Tag,
};
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, DEFAULT_NAME, ErrorHandler, PgWireServerHandlers, Type,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::CopyData;
use pgwire::messages::extendedquery::{Describe, Execute, TARGET_TYPE_BYTE_PORTAL};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::ParameterStatus;
use pgwire::types::format::FormatOptions;
use tokio_util::sync::CancellationToken;

use crate::auth::{PgAuth, ScramSource, Startup, server_parameters};
use crate::cancel::{CancelByKey, Cancels, Registration};
use crate::catalog::{SERVER_VERSION, register_search_path_udfs};
use crate::copy::{CopyOptions, CopyOut, copy_out_response};
use crate::cursor::{Cursor, fetch};
use crate::parser::{Command, DeclareCursor, PgStatement, StatementParser, parameter_types};
use crate::{encode, error, results};

/// What a statement answers: one of pgwire's responses, or rows copied out to the client
/// (`COPY … TO STDOUT`), which `results` sends with its own row count.
pub(crate) enum Answer {
    Response(Response),
    CopyOut(CopyOut),
}

impl Answer {
    /// As pgwire's response, for its own senders (the `do_query` methods, which this server
    /// does not use: `results` sends every answer). pgwire counts a CSV header as a row.
    fn into_response(self) -> Response {
        match self {
            Self::Response(r) => r,
            Self::CopyOut(copy) => {
                let header = futures::stream::iter(copy.header.map(Ok));
                let lines = header.chain(copy.lines).map_ok(CopyData::new);
                Response::CopyOut(CopyResponse::new(0, copy.columns, lines))
            }
        }
    }
}

/// What all connections share.
pub(crate) struct Shared {
    /// The session every connection starts from (catalog, `pg_catalog`, functions).
    base: SessionState,
    pub(crate) auth: PgAuth,
    pub(crate) policy: StatementPolicy,
    pub(crate) cancels: Arc<Cancels>,
    scram: Option<Arc<ScramSource>>,
    params: Arc<DefaultServerParameterProvider>,
    pub(crate) sql: Arc<PostgresCompatibilityParser>,
}

impl Shared {
    pub(crate) fn new(base: SessionState, auth: PgAuth, policy: StatementPolicy) -> Self {
        let schema = base.config().options().catalog.default_schema.clone();
        let scram = auth
            .is_required()
            .then(|| Arc::new(ScramSource::new(&auth)));
        Self {
            base,
            auth,
            policy,
            cancels: Arc::default(),
            scram,
            params: Arc::new(server_parameters(&schema)),
            sql: Arc::new(PostgresCompatibilityParser::new()),
        }
    }
}

/// The handlers of one connection (pgwire asks for them once per connection).
pub(crate) struct ConnHandlers {
    conn: Arc<Conn>,
    startup: Arc<Startup>,
    cancel: Arc<CancelByKey>,
}

impl ConnHandlers {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let startup = Arc::new(Startup::new(shared.scram.as_ref(), shared.params.clone()));
        let cancel = Arc::new(CancelByKey(shared.cancels.clone()));
        Self {
            conn: Arc::new(Conn::new(shared)),
            startup,
            cancel,
        }
    }
}

impl PgWireServerHandlers for ConnHandlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.conn.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.conn.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.startup.clone()
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        self.cancel.clone()
    }

    fn error_handler(&self) -> Arc<impl ErrorHandler> {
        Arc::new(LogErrors)
    }
}

struct LogErrors;

impl ErrorHandler for LogErrors {
    fn on_error<C>(&self, client: &C, error: &mut PgWireError)
    where
        C: ClientInfo,
    {
        tracing::debug!("to {}: {error}", client.socket_addr());
    }
}

/// One client connection.
pub(crate) struct Conn {
    shared: Arc<Shared>,
    ctx: SessionContext,
    parser: Arc<StatementParser>,
    registration: OnceLock<Registration>,
    /// Session settings set by the client (`SET x = y`), for `SHOW`.
    settings: Mutex<BTreeMap<String, String>>,
}

impl Conn {
    fn new(shared: Arc<Shared>) -> Self {
        // Its own session: a `SET search_path` here changes no other connection.
        let ctx = SessionContext::new_with_state(shared.base.clone());
        let parser = Arc::new(StatementParser {
            ctx: ctx.clone(),
            shared: shared.clone(),
            cursors: Arc::default(),
        });
        Self {
            shared,
            ctx,
            parser,
            registration: OnceLock::new(),
            settings: Mutex::default(),
        }
    }

    /// The cancellation token of a statement starting now.
    pub(crate) fn begin<C: ClientInfo>(&self, client: &C) -> CancellationToken {
        let registration = self.registration.get_or_init(|| {
            let (pid, secret) = client.pid_and_secret_key();
            self.shared.cancels.register(pid, secret.to_bytes())
        });
        self.shared.cancels.start(&registration.slot)
    }

    pub(crate) fn shutting_down(&self) -> bool {
        self.shared.cancels.is_shutting_down()
    }

    /// The statements of a simple-protocol message, each planned as the one before it has
    /// run (so a `SET search_path` applies to the next). A failing statement ends the list
    /// with its error, as in Postgres: the ones before it answered, the rest do not run.
    pub(crate) async fn statements<C>(
        &self,
        client: &mut C,
        query: &str,
        cancel: &CancellationToken,
    ) -> PgWireResult<Vec<Answer>>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statements = match self.parser.parse(query) {
            Ok(s) if s.is_empty() => return Ok(vec![Answer::Response(Response::EmptyQuery)]),
            Ok(s) => s
                .into_iter()
                .map(|s| Pending::Parsed(Box::new(s)))
                .collect(),
            Err(e) => vec![Pending::Prepared(self.parser.fallback(query, e).await)],
        };
        let mut out = Vec::with_capacity(statements.len());
        for statement in statements {
            let prepared = match statement {
                Pending::Parsed(s) => self.parser.prepare(*s).await,
                Pending::Prepared(p) => p,
            };
            let result = match prepared {
                Ok(statement) => {
                    self.run(client, statement, None, &Format::UnifiedText, cancel)
                        .await
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(r) => out.push(r),
                Err(e) => {
                    out.push(Answer::Response(Response::Error(Box::new(e.into()))));
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Runs a bound portal (its parameters in place) and returns its response; the rows are
    /// not read yet.
    pub(crate) async fn execute<C>(
        &self,
        client: &mut C,
        portal: &Portal<PgStatement>,
        cancel: &CancellationToken,
    ) -> PgWireResult<Answer>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement = portal.statement.statement.clone();
        let format = &portal.result_column_format;
        self.run(client, statement, Some(portal), format, cancel)
            .await
    }

    /// Runs a prepared statement, with the parameters of `portal` in place.
    async fn run<C>(
        &self,
        client: &mut C,
        statement: PgStatement,
        portal: Option<&Portal<PgStatement>>,
        format: &Format,
        cancel: &CancellationToken,
    ) -> PgWireResult<Answer>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match statement {
            PgStatement::Command(c) => self
                .run_command(client, &c, format)
                .await
                .map(Answer::Response),
            PgStatement::Query(plan) => {
                let plan = with_parameters(*plan, portal)?;
                self.run_query(client, plan, format, cancel.clone())
                    .await
                    .map(Answer::Response)
            }
            PgStatement::CopyOut(plan, options) => {
                let plan = with_parameters(*plan, portal)?;
                self.run_copy(client, plan, options, cancel.clone())
                    .await
                    .map(Answer::CopyOut)
            }
            PgStatement::Declare(declare) => {
                let DeclareCursor {
                    name,
                    plan,
                    binary,
                    hold,
                } = *declare;
                let plan = with_parameters(plan, portal)?;
                let df = self
                    .ctx
                    .execute_logical_plan(plan)
                    .await
                    .map_err(error::from_datafusion)?;
                let cursor = Cursor::start(df, binary, hold, cancel, self.shutting_down()).await?;
                self.parser.cursors.declare(&name, cursor)?;
                Ok(Answer::Response(Response::Execution(Tag::new(
                    "DECLARE CURSOR",
                ))))
            }
        }
    }

    async fn run_copy<C: ClientInfo>(
        &self,
        client: &C,
        plan: LogicalPlan,
        options: Arc<CopyOptions>,
        cancel: CancellationToken,
    ) -> PgWireResult<CopyOut> {
        let df = self
            .ctx
            .execute_logical_plan(plan)
            .await
            .map_err(error::from_datafusion)?;
        copy_out_response(
            df,
            options,
            Self::format_options(client),
            cancel,
            self.shutting_down(),
        )
        .await
    }

    fn format_options<C: ClientInfo>(client: &C) -> Arc<FormatOptions> {
        Arc::new(FormatOptions::from_client_metadata(client.metadata()))
    }

    async fn run_query<C: ClientInfo>(
        &self,
        client: &C,
        plan: LogicalPlan,
        format: &Format,
        cancel: CancellationToken,
    ) -> PgWireResult<Response> {
        let tag = write_tag(&plan);
        let df = self
            .ctx
            .execute_logical_plan(plan)
            .await
            .map_err(error::from_datafusion)?;
        if let Some(tag) = tag {
            // A write answers with its command tag and count (`INSERT 0 1`), not a row.
            let batches = tokio::select! {
                b = df.collect() => b.map_err(error::from_datafusion)?,
                () = cancel.cancelled() => return Err(error::cancelled(self.shutting_down())),
            };
            return Ok(Response::Execution(tag.with_rows(changed_rows(&batches))));
        }
        let response = encode::query_response(
            df,
            format,
            Self::format_options(client),
            cancel,
            self.shutting_down(),
        )
        .await?;
        Ok(Response::Query(response))
    }

    async fn run_command<C>(
        &self,
        client: &mut C,
        command: &Command,
        format: &Format,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Ok(match command {
            Command::Begin => Response::TransactionStart(Tag::new("BEGIN")),
            Command::Commit => {
                self.parser.cursors.end_transaction();
                Response::TransactionEnd(Tag::new("COMMIT"))
            }
            Command::Rollback => {
                self.parser.cursors.end_transaction();
                Response::TransactionEnd(Tag::new("ROLLBACK"))
            }
            Command::Fetch { name, count } => {
                let cursor = self.parser.cursors.get(name)?;
                let options = Self::format_options(client);
                Response::Query(fetch(cursor, *count, format, options)?)
            }
            Command::Close(name) => {
                self.parser.cursors.close(name.as_deref())?;
                Response::Execution(Tag::new("CLOSE CURSOR"))
            }
            Command::Noop(tag) => Response::Execution(Tag::new(tag)),
            Command::Set { name, value } => {
                self.set(client, name, value).await?;
                Response::Execution(Tag::new("SET"))
            }
            Command::Show(name) => {
                let value = self.show(name)?;
                let field = Arc::new(vec![show_field(name, format)]);
                let mut row = DataRowEncoder::new(field.clone());
                row.encode_field(&Some(value))?;
                let row = Ok(row.take_row());
                Response::Query(QueryResponse::new(
                    field,
                    futures::stream::once(async move { row }),
                ))
            }
        })
    }

    /// A Postgres session setting. The search path changes this connection's default
    /// schema; the rest are remembered for `SHOW` (and the output formats for encoding).
    async fn set<C>(&self, client: &mut C, name: &str, value: &str) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut value = value.to_string();
        let mut status = None;
        match name {
            "search_path" => {
                if let Some(schema) = self.first_existing_schema(&value) {
                    {
                        let state = self.ctx.state_ref();
                        let mut state = state.write();
                        state.config_mut().options_mut().catalog.default_schema = schema.clone();
                    }
                    register_search_path_udfs(&self.ctx, &schema);
                }
            }
            "client_encoding" => {
                let v = value.to_ascii_uppercase().replace('-', "");
                if v != "UTF8" && v != "UNICODE" {
                    return Err(error::user_error(
                        "22023",
                        format!("client encoding {value} is not supported: use UTF8"),
                    ));
                }
                value = "UTF8".into();
                status = Some("client_encoding");
            }
            // Only ISO dates are produced; clients asking for ISO get it.
            "datestyle" => {
                value = "ISO, MDY".into();
                status = Some("DateStyle");
            }
            "timezone" => status = Some("TimeZone"),
            "application_name" => status = Some("application_name"),
            "intervalstyle" => status = Some("IntervalStyle"),
            _ => {}
        }
        client
            .metadata_mut()
            .insert(name.to_string(), value.clone());
        if let Ok(mut s) = self.settings.lock() {
            s.insert(name.to_string(), value.clone());
        }
        if let Some(status) = status {
            client
                .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                    status.to_string(),
                    value,
                )))
                .await?;
        }
        Ok(())
    }

    /// The first schema of a search path that exists (`"$user", public` and the like are
    /// skipped, as Postgres skips schemas that do not exist).
    fn first_existing_schema(&self, path: &str) -> Option<String> {
        let state = self.ctx.state();
        let catalog = state.config().options().catalog.default_catalog.clone();
        let names = self.ctx.catalog(&catalog)?.schema_names();
        path.split(',')
            .map(|s| s.trim().trim_matches('"').trim_matches('\''))
            .find_map(|want| names.iter().find(|n| n.eq_ignore_ascii_case(want)).cloned())
    }

    fn show(&self, name: &str) -> PgWireResult<String> {
        let name = show_name(name);
        if let Some(v) = self.settings.lock().ok().and_then(|s| s.get(name).cloned()) {
            return Ok(v);
        }
        let schema = self
            .ctx
            .state()
            .config()
            .options()
            .catalog
            .default_schema
            .clone();
        let value = match name {
            "search_path" => schema,
            "server_version" => SERVER_VERSION.into(),
            "server_version_num" => "160006".into(),
            "server_encoding" | "client_encoding" => "UTF8".into(),
            "datestyle" => "ISO, MDY".into(),
            "timezone" => "UTC".into(),
            "intervalstyle" => "postgres".into(),
            "integer_datetimes" | "standard_conforming_strings" => "on".into(),
            "transaction_isolation" | "default_transaction_isolation" => "read committed".into(),
            "transaction_read_only" | "default_transaction_read_only" => "on".into(),
            "is_superuser" => "off".into(),
            "max_identifier_length" => "63".into(),
            "lc_collate" | "lc_ctype" | "lc_messages" => "C".into(),
            "statement_timeout" | "lock_timeout" | "idle_in_transaction_session_timeout" => {
                "0".into()
            }
            "extra_float_digits" => "1".into(),
            "application_name" => String::new(),
            "bytea_output" => "hex".into(),
            _ => {
                return Err(error::user_error(
                    "42704",
                    format!("unrecognized configuration parameter \"{name}\""),
                ));
            }
        };
        Ok(value)
    }
}

/// The command tag of a write (`INSERT 0 n`, `UPDATE n`, `DELETE n`), or `None`.
fn write_tag(plan: &LogicalPlan) -> Option<Tag> {
    let LogicalPlan::Dml(dml) = plan else {
        return None;
    };
    Some(match dml.op {
        WriteOp::Insert(_) => Tag::new("INSERT").with_oid(0),
        WriteOp::Update => Tag::new("UPDATE"),
        WriteOp::Delete => Tag::new("DELETE"),
        _ => return None,
    })
}

/// The sum of the `count` column DataFusion's writes answer with.
fn changed_rows(batches: &[RecordBatch]) -> usize {
    batches
        .iter()
        .filter_map(|b| b.columns().first()?.as_primitive_opt::<UInt64Type>())
        .flat_map(|c| c.iter().flatten())
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        .sum()
}

/// `SHOW transaction isolation level` is `transaction_isolation`, and so on.
fn show_name(name: &str) -> &str {
    match name {
        "transaction isolation level" => "transaction_isolation",
        "time zone" => "timezone",
        other => other,
    }
}

pub(crate) fn show_field(name: &str, format: &Format) -> FieldInfo {
    FieldInfo::new(
        show_name(name).to_string(),
        None,
        None,
        Type::TEXT,
        format.format_for(0),
    )
}

#[async_trait]
impl SimpleQueryHandler for Conn {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        results::on_query(self, client, &query.query).await
    }

    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let cancel = self.begin(client);
        let answers = self.statements(client, query, &cancel).await?;
        Ok(answers.into_iter().map(Answer::into_response).collect())
    }
}

/// `plan` with the parameter values of `portal` (`$1`, …) in place.
fn with_parameters(
    plan: LogicalPlan,
    portal: Option<&Portal<PgStatement>>,
) -> PgWireResult<LogicalPlan> {
    let Some(portal) = portal.filter(|p| p.parameter_len() > 0) else {
        return Ok(plan);
    };
    let types = parameter_types(&plan)?;
    let types: Vec<Option<&DataType>> = types.iter().map(Option::as_ref).collect();
    let values = arrow_pg::datatypes::df::deserialize_parameters(portal, &types)?;
    plan.replace_params_with_values(&values)
        .map_err(error::from_datafusion)
}

enum Pending {
    Parsed(Box<Statement>),
    Prepared(PgWireResult<PgStatement>),
}

#[async_trait]
impl ExtendedQueryHandler for Conn {
    type Statement = PgStatement;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<StatementParser> {
        self.parser.clone()
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = PgStatement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        results::on_execute(self, client, message).await
    }

    /// Describe of a portal that is a SQL cursor (psycopg asks for a named cursor's columns
    /// this way after DECLARE); everything else as pgwire describes it.
    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = PgStatement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if message.target_type == TARGET_TYPE_BYTE_PORTAL {
            let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
            let cursor = match client.portal_store().get_portal(name) {
                Some(_) => None,
                None => self.parser.cursors.find(name),
            };
            if let Some(cursor) = cursor {
                let format = if cursor.binary {
                    Format::UnifiedBinary
                } else {
                    Format::UnifiedText
                };
                let fields = encode::fields(&cursor.schema, &format, Self::format_options(client))?;
                return send_describe_response(client, &DescribePortalResponse::new(fields)).await;
            }
        }
        self._on_describe(client, message).await
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<PgStatement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = PgStatement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let cancel = self.begin(client);
        self.execute(client, portal, &cancel)
            .await
            .map(Answer::into_response)
    }
}
