// The server as the PostgreSQL JDBC driver (pgjdbc, Debian's libpostgresql-jdbc-java) sees it:
// what DBeaver, DataGrip, Tableau, Metabase and other JVM tools do on connect and on browsing.
// Run by tests/clients.rs: java -cp /usr/share/java/postgresql.jar JdbcClient.java PORT USER
// (the password in PGPASSWORD). Prints "ok", or fails with a message.

import java.math.BigDecimal;
import java.sql.*;
import java.time.Instant;
import java.util.*;

public class JdbcClient {
    static void check(boolean ok, Object what) {
        if (!ok) throw new AssertionError(String.valueOf(what));
    }

    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        props.setProperty("password", System.getenv("PGPASSWORD"));
        props.setProperty("connectTimeout", "10");
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/acumatica";
        try (Connection conn = DriverManager.getConnection(url, props)) {
            DatabaseMetaData meta = conn.getMetaData();
            check(meta.getDatabaseProductName().equals("PostgreSQL"), meta.getDatabaseProductName());

            // Browsing: schemas, tables, columns with their SQL types, precision and scale.
            List<String> schemas = new ArrayList<>();
            try (ResultSet rs = meta.getSchemas()) {
                while (rs.next()) schemas.add(rs.getString("TABLE_SCHEM"));
            }
            check(schemas.contains("rest") && schemas.contains("gi"), schemas);
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = meta.getTables(null, "rest", "%", new String[] {"TABLE"})) {
                while (rs.next()) tables.add(rs.getString("TABLE_NAME"));
            }
            check(tables.contains("Customer"), tables);
            Map<String, String> columns = new LinkedHashMap<>();
            try (ResultSet rs = meta.getColumns(null, "rest", "Customer", "%")) {
                while (rs.next()) {
                    columns.put(rs.getString("COLUMN_NAME"), rs.getInt("DATA_TYPE") + "/"
                        + rs.getString("TYPE_NAME") + "/" + rs.getInt("COLUMN_SIZE") + "/"
                        + rs.getInt("DECIMAL_DIGITS"));
                }
            }
            check(columns.get("Balance").equals(Types.NUMERIC + "/numeric/38/8"), columns);
            check(columns.get("CustomerID").startsWith(Types.VARCHAR + "/text/"), columns);
            check(columns.get("Active").startsWith(Types.BIT + "/bool/"), columns);
            check(columns.get("LastModified").startsWith(Types.TIMESTAMP + "/timestamptz/"), columns);

            // A prepared statement with a parameter; exact decimals, NULLs, types.
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT \"CustomerID\", \"Balance\", \"Active\", \"Orders\", \"LastModified\" "
                    + "FROM Customer WHERE \"CustomerID\" = ?")) {
                ps.setString(1, "C001");
                try (ResultSet rs = ps.executeQuery()) {
                    check(rs.next(), "a row");
                    check(rs.getBigDecimal(2).equals(new BigDecimal("12345.00000000")), rs.getBigDecimal(2));
                    check(rs.getBoolean(3), "Active");
                    check(rs.getInt(4) == 3, rs.getInt(4));
                    Instant at = rs.getTimestamp(5).toInstant();
                    check(at.equals(Instant.ofEpochSecond(1_700_000_000L)), at);
                    check(!rs.next(), "one row");
                }
                ResultSetMetaData md = ps.getMetaData();
                check(md.getPrecision(2) == 38 && md.getScale(2) == 8, md.getScale(2));
                ps.setString(1, "O'BRIEN");
                try (ResultSet rs = ps.executeQuery()) {
                    check(rs.next(), "a row");
                    check(rs.getBigDecimal(2).equals(new BigDecimal("-0.00000001")), rs.getBigDecimal(2));
                    rs.getBoolean(3);
                    check(rs.wasNull(), "Active is NULL");
                }
            }

            // A fetch size: the driver reads the result 100 rows at a time from a portal the
            // server keeps suspended between fetches (needs a transaction, as in Postgres).
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.setFetchSize(100);
                long n = 0;
                try (ResultSet rs = st.executeQuery("SELECT n FROM gi.Endless LIMIT 1050")) {
                    while (rs.next()) {
                        check(rs.getLong(1) == n, rs.getLong(1) + " at " + n);
                        n++;
                    }
                }
                check(n == 1050, n);
            }
            conn.commit();
            conn.setAutoCommit(true);

            // Statement.cancel from another thread stops an endless query with 57014.
            try (Statement st = conn.createStatement()) {
                Timer timer = new Timer(true);
                timer.schedule(new TimerTask() {
                    public void run() {
                        try { st.cancel(); } catch (SQLException e) { throw new RuntimeException(e); }
                    }
                }, 500);
                try {
                    st.executeQuery("SELECT * FROM gi.Endless");
                    throw new AssertionError("not cancelled");
                } catch (SQLException e) {
                    check("57014".equals(e.getSQLState()), e.getSQLState() + " " + e.getMessage());
                }
            }
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                check(rs.next() && rs.getInt(1) == 1, "the connection goes on");
            }
        }
        System.out.println("ok");
    }
}
