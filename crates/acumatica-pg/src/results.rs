//! Sending results to the client, for the simple query protocol (`Query`) and the extended one
//! (`Execute`): rows go to the socket as the scan produces them, and a cancel request is
//! noticed at once, even while the socket is full because the client reads slowly.
//!
//! pgwire's own `Execute` collects every row of the portal before sending the first (with
//! `max_rows = 0`, what libpq, psycopg and the ODBC driver send), and its senders wait for
//! the socket without looking at anything else: an endless or very large result then fills
//! the server's memory, and a cancel is not seen until the client reads again. So both
//! handlers are ours; everything around them (Parse, Bind, Describe, Sync, errors) stays
//! pgwire's.

use std::fmt::Debug;
use std::pin::pin;
use std::sync::Arc;

use futures::{Sink, SinkExt, Stream, StreamExt};
use pgwire::api::portal::PortalExecutionState;
use pgwire::api::query::send_execution_response;
use pgwire::api::results::{QueryResponse, Response, Tag};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyOutResponse};
use pgwire::messages::data::RowDescription;
use pgwire::messages::extendedquery::{Execute, PortalSuspended};
use pgwire::messages::response::{EmptyQueryResponse, ReadyForQuery, TransactionStatus};
use tokio_util::sync::CancellationToken;

use crate::copy::CopyOut;
use crate::error;
use crate::parser::PgStatement;
use crate::session::{Answer, Conn};

/// How a batch of rows ended.
struct Sent {
    rows: usize,
    /// `max_rows` were sent and more remain (the portal stays open).
    suspended: bool,
}

/// Sends the items of `items` as they come, each as the message `message` makes of it, at
/// most `max` of them (0: all). Ends with the cancellation error as soon as `cancel` fires,
/// whether the server is waiting for the next item or for room in the socket; the caller
/// then drops the stream, and with it the scan.
async fn send_stream<C, T>(
    client: &mut C,
    items: &mut (impl Stream<Item = PgWireResult<T>> + Unpin),
    message: impl Fn(T) -> PgWireBackendMessage,
    max: usize,
    cancel: &CancellationToken,
    shutting_down: impl Fn() -> bool,
) -> PgWireResult<Sent>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    PgWireError: From<C::Error>,
{
    // One waiter for the whole result, not one per row.
    let mut cancelled = pin!(cancel.cancelled());
    let mut rows = 0;
    while max == 0 || rows < max {
        let next = tokio::select! {
            biased;
            () = &mut cancelled => return Err(error::cancelled(shutting_down())),
            next = items.next() => next,
        };
        let Some(item) = next else {
            return Ok(Sent {
                rows,
                suspended: false,
            });
        };
        let item = message(item?);
        tokio::select! {
            biased;
            () = &mut cancelled => return Err(error::cancelled(shutting_down())),
            fed = client.feed(item) => fed?,
        }
        rows += 1;
    }
    Ok(Sent {
        rows,
        suspended: true,
    })
}

/// Sends the rows of `results` as they come, at most `max_rows` of them (0: all).
async fn send_rows<C>(
    client: &mut C,
    results: &mut QueryResponse,
    max_rows: usize,
    cancel: &CancellationToken,
    shutting_down: impl Fn() -> bool,
) -> PgWireResult<Sent>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    PgWireError: From<C::Error>,
{
    let rows = &mut results.data_rows;
    send_stream(
        client,
        rows,
        PgWireBackendMessage::DataRow,
        max_rows,
        cancel,
        shutting_down,
    )
    .await
}

/// `COPY … TO STDOUT`: CopyOutResponse, a CopyData message per line as the scan produces
/// them (stopping at once on a cancel, like `send_rows`), CopyDone and `COPY n`. An error
/// ends the copy; the caller answers it with an ErrorResponse, which ends a copy in Postgres
/// too.
async fn send_copy_out<C>(
    client: &mut C,
    copy: CopyOut,
    cancel: &CancellationToken,
    shutting_down: impl Fn() -> bool,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    PgWireError: From<C::Error>,
{
    let columns = i16::try_from(copy.columns).unwrap_or(i16::MAX);
    let response = CopyOutResponse::new(0, columns, vec![0; copy.columns]);
    client
        .feed(PgWireBackendMessage::CopyOutResponse(response))
        .await?;
    if let Some(header) = copy.header {
        client
            .feed(PgWireBackendMessage::CopyData(CopyData::new(header)))
            .await?;
    }
    let mut lines = copy.lines;
    let data = |line| PgWireBackendMessage::CopyData(CopyData::new(line));
    let sent = send_stream(client, &mut lines, data, 0, cancel, shutting_down).await?;
    client
        .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
        .await?;
    let tag = Tag::new("COPY").with_rows(sent.rows);
    client
        .feed(PgWireBackendMessage::CommandComplete(tag.into()))
        .await?;
    Ok(())
}

/// Answers a response that is not a row set, and returns the transaction status after it.
async fn send_other<C>(
    client: &mut C,
    response: Response,
    status: TransactionStatus,
) -> PgWireResult<TransactionStatus>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin,
    C::PortalStore: PortalStore,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    Ok(match response {
        Response::EmptyQuery => {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
            status
        }
        Response::Execution(tag) => {
            send_execution_response(client, tag).await?;
            status
        }
        Response::TransactionStart(tag) => {
            send_execution_response(client, tag).await?;
            status.to_in_transaction_state()
        }
        Response::TransactionEnd(tag) => {
            send_execution_response(client, tag).await?;
            client.portal_store().rm_portal(DEFAULT_NAME);
            status.to_idle_state()
        }
        Response::Error(e) => {
            client
                .feed(PgWireBackendMessage::ErrorResponse((*e).into()))
                .await?;
            status.to_error_state()
        }
        // Row sets are streamed by the callers.
        Response::Query(_) => {
            return Err(error::user_error(
                "XX000",
                "internal error: a row set where a command was expected",
            ));
        }
        // Never produced: `COPY … TO STDOUT` is an `Answer::CopyOut`, other copies are
        // refused when they are planned.
        Response::CopyIn(_) | Response::CopyOut(_) | Response::CopyBoth(_) => {
            return Err(error::user_error(
                "XX000",
                "internal error: a copy where a command was expected",
            ));
        }
    })
}

/// A statement may start only when the connection is ready; returns the transaction status.
fn begin<C: ClientInfo>(client: &mut C) -> PgWireResult<TransactionStatus> {
    if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
        return Err(PgWireError::NotReadyForQuery);
    }
    client.set_state(PgWireConnectionState::QueryInProgress);
    Ok(client.transaction_status())
}

/// The simple query protocol: every statement of the message, each result streamed, then
/// ReadyForQuery.
pub(crate) async fn on_query<C>(conn: &Conn, client: &mut C, sql: &str) -> PgWireResult<()>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    let mut status = begin(client)?;
    // One token for the whole message: a cancel stops whichever of its statements runs.
    let cancel = conn.begin(client);
    for answer in conn.statements(client, sql, &cancel).await? {
        match answer {
            Answer::CopyOut(copy) => {
                send_copy_out(client, copy, &cancel, || conn.shutting_down()).await?;
            }
            Answer::Response(Response::Query(mut results)) => {
                let description =
                    RowDescription::new(results.row_schema.iter().map(Into::into).collect());
                client
                    .feed(PgWireBackendMessage::RowDescription(description))
                    .await?;
                let sent =
                    send_rows(client, &mut results, 0, &cancel, || conn.shutting_down()).await?;
                let tag = Tag::new(&results.command_tag).with_rows(sent.rows);
                client
                    .feed(PgWireBackendMessage::CommandComplete(tag.into()))
                    .await?;
            }
            Answer::Response(other) => status = send_other(client, other, status).await?,
        }
    }
    client.set_state(PgWireConnectionState::ReadyForQuery);
    client.set_transaction_status(status);
    client
        .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
            status,
        )))
        .await?;
    Ok(())
}

/// `Execute` of a portal: runs it the first time, then sends up to `max_rows` rows (all with
/// 0) straight to the socket; a portal with rows left stays suspended for the next Execute.
pub(crate) async fn on_execute<C>(conn: &Conn, client: &mut C, message: Execute) -> PgWireResult<()>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore<Statement = PgStatement>,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    let mut status = begin(client)?;
    let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
    // Negative counts are not valid; Postgres reads them as "all rows", as 0 is.
    let max_rows = usize::try_from(message.max_rows).unwrap_or(0);
    let portal = match client.portal_store().get_portal(name) {
        Some(Entry::Value(portal)) => portal,
        Some(Entry::Empty) => {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
            client.set_state(PgWireConnectionState::ReadyForQuery);
            return Ok(());
        }
        None => return Err(PgWireError::PortalNotFound(name.to_owned())),
    };
    let cancel = conn.begin(client);
    let state = portal.state();
    let mut state = state.lock().await;
    let mut results = match std::mem::replace(&mut *state, PortalExecutionState::Finished) {
        PortalExecutionState::Initial => match conn.execute(client, &portal, &cancel).await? {
            Answer::Response(Response::Query(results)) => results,
            Answer::CopyOut(copy) => {
                // Sent whole, whatever `max_rows` says (as Postgres does for COPY).
                *state = PortalExecutionState::Initial;
                drop(state);
                send_copy_out(client, copy, &cancel, || conn.shutting_down()).await?;
                client.set_state(PgWireConnectionState::ReadyForQuery);
                client.set_transaction_status(status);
                return Ok(());
            }
            Answer::Response(other) => {
                // A command: answered once; executing the portal again runs it again.
                *state = PortalExecutionState::Initial;
                drop(state);
                status = send_other(client, other, status).await?;
                client.set_state(PgWireConnectionState::ReadyForQuery);
                client.set_transaction_status(status);
                return Ok(());
            }
        },
        PortalExecutionState::Suspended(results) => results,
        PortalExecutionState::Finished => QueryResponse::new(
            Arc::new(Vec::new()),
            futures::stream::empty::<PgWireResult<_>>(),
        ),
    };
    let sent = send_rows(client, &mut results, max_rows, &cancel, || {
        conn.shutting_down()
    })
    .await?;
    if sent.suspended {
        *state = PortalExecutionState::Suspended(results);
        client
            .send(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
            .await?;
    } else {
        let tag = Tag::new(&results.command_tag).with_rows(sent.rows);
        client
            .send(PgWireBackendMessage::CommandComplete(tag.into()))
            .await?;
    }
    client.set_state(PgWireConnectionState::ReadyForQuery);
    client.set_transaction_status(status);
    Ok(())
}
