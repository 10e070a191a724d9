// CQL probe for scripts/cassandra: waits for a node to answer CQL, or runs one statement.
//
//   java -cp 'CACHE/lib/*:CLASSES' Probe wait HOST PORT TIMEOUT_SECONDS [PID]
//       Retries `SELECT release_version FROM system.local` on HOST:PORT until it answers
//       (prints the version, exit 0), the timeout passes (exit 1) or process PID is gone
//       (exit 2); a setting it cannot use (a missing certificate file, say) is exit 3.
//       Stays in one JVM: a cheap TCP connect is tried before each driver session.
//   java ... Probe version HOST PORT
//       One attempt; prints the version (exit 0) or the error (exit 1).
//   java ... Probe cql HOST PORT STATEMENT
//       Runs one CQL statement on HOST:PORT and prints the rows (exit 0), or the error (exit 1).
//   java ... Probe ring PORT TIMEOUT_SECONDS HOST...
//       The nodes HOST... of one cluster, as each of them sees the others: waits until
//       every node answers CQL, lists all others in system.peers_v2 (where drivers find
//       them), and sees each of them UP in system_views.gossip_info (status NORMAL, CQL
//       ready, heartbeat advancing between two looks), with one schema version
//       everywhere. Prints one line per node; exit 0 when all is so, else 1 once
//       TIMEOUT_SECONDS have passed (0: look twice, about a second apart, and report).
//
// It uses the DataStax Java driver 3.x that ships with cassandra-all (shaded jar), so it
// needs nothing that the node's own jar folder does not already hold.
//
// A secured node (scripts/cassandra --auth / --tls) is reached with settings from the
// environment, so that no secret is on a command line:
//   SSA_PROBE_USERNAME, SSA_PROBE_PASSWORD_FILE   password authentication
//   SSA_PROBE_CA                                  PEM CA: TLS; the node's certificate must
//       chain to it (an expired one is let through: see ExpiryTolerant)
//   SSA_PROBE_CERT, SSA_PROBE_KEY                 PEM client certificate and PKCS#8 key
//   SSA_PROBE_SETUP_ROLE=1                        wait only: when SSA_PROBE_USERNAME cannot
//       log in yet, log in as the default cassandra/cassandra superuser, create
//       SSA_PROBE_USERNAME as a superuser with the password of SSA_PROBE_PASSWORD_FILE,
//       then drop the cassandra role (the default superuser is replaced).

import com.datastax.driver.core.Cluster;
import com.datastax.driver.core.ColumnDefinitions;
import com.datastax.driver.core.NettyOptions;
import com.datastax.driver.core.CodecRegistry;
import com.datastax.driver.core.DataType;
import com.datastax.driver.core.QueryOptions;
import com.datastax.driver.core.ResultSet;
import com.datastax.driver.core.Row;
import com.datastax.driver.core.Session;
import com.datastax.driver.core.SimpleStatement;
import com.datastax.driver.core.SocketOptions;
import com.datastax.driver.core.RemoteEndpointAwareJdkSSLOptions;
import com.datastax.driver.core.exceptions.AuthenticationException;
import com.datastax.driver.core.exceptions.NoHostAvailableException;
import com.datastax.driver.core.policies.RoundRobinPolicy;
import com.datastax.driver.core.policies.WhiteListPolicy;
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertPathValidatorException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

public class Probe {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            usage();
        }
        String mode = args[0];
        String host = args[1];
        int port = Integer.parseInt(mode.equals("ring") ? args[1] : args[2]);
        switch (mode) {
            case "wait":
                if (args.length < 4) usage();
                long pid = args.length > 4 ? Long.parseLong(args[4]) : -1;
                System.exit(waitForNode(host, port, Double.parseDouble(args[3]), pid));
                break;
            case "version":
                try {
                    System.out.println(releaseVersion(host, port, 5000));
                    System.exit(0);
                } catch (Exception e) {
                    System.err.println(describe(e));
                    System.exit(1);
                }
                break;
            case "ring":
                if (args.length < 4) usage();
                System.exit(ring(port, Double.parseDouble(args[2]), java.util.Arrays.asList(args).subList(3, args.length)));
                break;
            case "cql":
                if (args.length < 4) usage();
                try {
                    runStatement(host, port, args[3]);
                    System.exit(0);
                } catch (Exception e) {
                    System.err.println("error: " + describe(e));
                    System.exit(1);
                }
                break;
            default:
                usage();
        }
    }

    static void usage() {
        System.err.println("usage: Probe wait HOST PORT TIMEOUT_SECONDS [PID] | version HOST PORT | cql HOST PORT STATEMENT"
                + " | ring PORT TIMEOUT_SECONDS HOST...");
        System.exit(64);
    }

    // The driver's default close waits out Netty's 2 s quiet period; a one-shot probe need not.
    static final NettyOptions QUICK_CLOSE = new NettyOptions() {
        @Override
        public void onClusterClose(com.datastax.shaded.netty.channel.EventLoopGroup group) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    };

    static final String DEFAULT_ROLE = "cassandra";

    // A setting the probe cannot use: waiting longer would not help.
    static final class SetupException extends RuntimeException {
        SetupException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    static String env(String name) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? null : value;
    }

    static String password() {
        String file = env("SSA_PROBE_PASSWORD_FILE");
        if (file == null) {
            return null;
        }
        try {
            return new String(Files.readAllBytes(Paths.get(file)), StandardCharsets.UTF_8).trim();
        } catch (Exception e) {
            throw new SetupException("cannot read the password file " + file + ": " + describe(e), e);
        }
    }

    static Cluster cluster(String host, int port, int readTimeoutMillis) {
        return cluster(host, port, readTimeoutMillis, env("SSA_PROBE_USERNAME"), password());
    }

    static Cluster cluster(String host, int port, int readTimeoutMillis, String username, String password) {
        InetSocketAddress address = new InetSocketAddress(host, port);
        Cluster.Builder builder = Cluster.builder();
        if (username != null) {
            builder.withCredentials(username, password == null ? "" : password);
        }
        if (env("SSA_PROBE_CA") != null) {
            builder.withSSL(RemoteEndpointAwareJdkSSLOptions.builder().withSSLContext(sslContext()).build());
        }
        return builder
                .addContactPointsWithPorts(address)
                .withLoadBalancingPolicy(new WhiteListPolicy(new RoundRobinPolicy(), Collections.singletonList(address)))
                .withSocketOptions(new SocketOptions().setConnectTimeoutMillis(5000).setReadTimeoutMillis(readTimeoutMillis))
                .withQueryOptions(new QueryOptions().setMetadataEnabled(false))
                .withoutMetrics()
                .withoutJMXReporting()
                .withNettyOptions(QUICK_CLOSE)
                .build();
    }

    // TLS from PEM files: the CA that signed the node's certificate, and optionally a
    // client certificate and its PKCS#8 key (EC or RSA) for mutual TLS.
    static SSLContext sslContext() {
        try {
            CertificateFactory x509 = CertificateFactory.getInstance("X.509");
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            int i = 0;
            for (Certificate ca : readCertificates(x509, env("SSA_PROBE_CA"))) {
                trust.setCertificateEntry("ca" + i++, ca);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            TrustManager[] trustManagers = { new ExpiryTolerant((X509TrustManager) tmf.getTrustManagers()[0]) };
            KeyManager[] keyManagers = null;
            String cert = env("SSA_PROBE_CERT");
            String keyFile = env("SSA_PROBE_KEY");
            if (cert != null && keyFile != null) {
                char[] storePassword = "probe".toCharArray(); // in memory only
                KeyStore keys = KeyStore.getInstance("PKCS12");
                keys.load(null, null);
                Certificate[] chain = readCertificates(x509, cert).toArray(new Certificate[0]);
                keys.setKeyEntry("client", readKey(keyFile), storePassword, chain);
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, storePassword);
                keyManagers = kmf.getKeyManagers();
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keyManagers, trustManagers, null);
            return context;
        } catch (Exception e) {
            throw new SetupException("tls setup: " + describe(e), e);
        }
    }

    // The node's certificate must chain to the CA, but may have expired: the probe asks
    // whether the node is up, and a node may be given an expired certificate on purpose,
    // to see that clients refuse it. Every other failure still fails the check.
    static final class ExpiryTolerant implements X509TrustManager {
        private final X509TrustManager delegate;

        ExpiryTolerant(X509TrustManager delegate) {
            this.delegate = delegate;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            try {
                delegate.checkServerTrusted(chain, authType);
            } catch (CertificateException e) {
                if (!onlyExpired(e)) {
                    throw e;
                }
            }
        }

        static boolean onlyExpired(Throwable e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof CertificateExpiredException) {
                    return true;
                }
                if (t instanceof CertPathValidatorException
                        && ((CertPathValidatorException) t).getReason() == CertPathValidatorException.BasicReason.EXPIRED) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            delegate.checkClientTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return delegate.getAcceptedIssuers();
        }
    }

    static Collection<? extends Certificate> readCertificates(CertificateFactory x509, String path) throws Exception {
        try (InputStream in = new FileInputStream(path)) {
            return x509.generateCertificates(in);
        }
    }

    static PrivateKey readKey(String path) throws Exception {
        String pem = new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.US_ASCII);
        String body = pem.replaceAll("-----(BEGIN|END) PRIVATE KEY-----", "").replaceAll("\\s", "");
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body));
        try {
            return KeyFactory.getInstance("EC").generatePrivate(spec);
        } catch (Exception e) {
            return KeyFactory.getInstance("RSA").generatePrivate(spec);
        }
    }

    static boolean isAuthenticationFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof AuthenticationException) {
                return true;
            }
            if (t instanceof NoHostAvailableException) {
                for (Throwable inner : ((NoHostAvailableException) t).getErrors().values()) {
                    if (isAuthenticationFailure(inner)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    // Replaces the default superuser: logs in as cassandra/cassandra, creates the role
    // named by SSA_PROBE_USERNAME (a superuser that can log in, with the password of
    // SSA_PROBE_PASSWORD_FILE), then logs in as that role and drops cassandra.
    // Safe to repeat after an interruption at any step (the password file is written
    // before the role is created, and never changes afterwards).
    static void setupRole(String host, int port) {
        String role = env("SSA_PROBE_USERNAME");
        String password = password();
        if (role == null || password == null || !role.matches("[a-z][a-z0-9_]*") || password.contains("'")) {
            throw new SetupException("SSA_PROBE_SETUP_ROLE needs SSA_PROBE_USERNAME and SSA_PROBE_PASSWORD_FILE", null);
        }
        try (Cluster cluster = cluster(host, port, 20000, DEFAULT_ROLE, DEFAULT_ROLE); Session session = cluster.connect()) {
            session.execute("CREATE ROLE IF NOT EXISTS " + role
                    + " WITH PASSWORD = '" + password + "' AND SUPERUSER = true AND LOGIN = true");
        }
        try (Cluster cluster = cluster(host, port, 20000, role, password); Session session = cluster.connect()) {
            session.execute("DROP ROLE IF EXISTS " + DEFAULT_ROLE);
        }
    }

    static String releaseVersion(String host, int port, int readTimeoutMillis) {
        boolean setup = env("SSA_PROBE_SETUP_ROLE") != null;
        try {
            return queryReleaseVersion(host, port, readTimeoutMillis, setup);
        } catch (RuntimeException e) {
            if (!setup || !isAuthenticationFailure(e)) {
                throw e;
            }
        }
        setupRole(host, port);
        return queryReleaseVersion(host, port, readTimeoutMillis, false);
    }

    static String queryReleaseVersion(String host, int port, int readTimeoutMillis, boolean dropDefaultRole) {
        try (Cluster cluster = cluster(host, port, readTimeoutMillis); Session session = cluster.connect()) {
            if (dropDefaultRole) {
                // Finishes a replacement that was interrupted after the role was made.
                session.execute("DROP ROLE IF EXISTS " + DEFAULT_ROLE);
            }
            Row row = session.execute("SELECT release_version FROM system.local").one();
            if (row == null) {
                throw new IllegalStateException("system.local returned no row");
            }
            return row.getString(0);
        }
    }

    static boolean portOpen(String host, int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 1000);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    static boolean alive(long pid) {
        return pid <= 0 || ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    static int waitForNode(String host, int port, double timeoutSeconds, long pid) throws InterruptedException {
        long deadline = System.nanoTime() + (long) (timeoutSeconds * 1e9);
        String lastError = "native port " + host + ":" + port + " never opened";
        while (true) {
            if (!alive(pid)) {
                System.err.println("process " + pid + " exited before the node answered CQL");
                return 2;
            }
            if (portOpen(host, port)) {
                try {
                    System.out.println(releaseVersion(host, port, 10000));
                    return 0;
                } catch (SetupException e) {
                    System.err.println(e.getMessage());
                    return 3;
                } catch (Exception e) {
                    lastError = describe(e);
                }
            }
            if (System.nanoTime() > deadline) {
                System.err.println("timed out after " + timeoutSeconds + " s; last error: " + lastError);
                return 1;
            }
            Thread.sleep(250);
        }
    }

    // One node's view of the others, from its system.peers_v2 and gossip_info.
    static final class View {
        String error; // set when the node did not answer
        String token = "?";
        final java.util.Set<String> peers = new java.util.TreeSet<>();
        // address -> "generation:heartbeat", status, CQL ready, schema
        final java.util.Map<String, String> beats = new java.util.HashMap<>();
        final java.util.Map<String, String> status = new java.util.HashMap<>();
        final java.util.Map<String, String> rpcReady = new java.util.HashMap<>();
        final java.util.Set<String> schemas = new java.util.TreeSet<>();
    }

    static String text(Row row, String column) {
        if (!row.getColumnDefinitions().contains(column) || row.isNull(column)) {
            return "";
        }
        return String.valueOf(row.getObject(column));
    }

    static View look(java.util.Map<String, Session> sessions, String host, int port) {
        View view = new View();
        try {
            Session session = sessions.get(host);
            if (session == null) {
                session = cluster(host, port, 5000).connect();
                sessions.put(host, session);
            }
            Row local = session.execute("SELECT tokens FROM system.local").one();
            if (local != null && !local.isNull(0)) {
                view.token = String.join(",", local.getSet(0, String.class));
            }
            for (Row row : session.execute("SELECT peer FROM system.peers_v2")) {
                view.peers.add(row.getInet(0).getHostAddress());
            }
            for (Row row : session.execute("SELECT * FROM system_views.gossip_info")) {
                String address = row.getInet("address").getHostAddress();
                view.beats.put(address, text(row, "generation") + ":" + text(row, "heartbeat"));
                String status = text(row, "status_with_port");
                view.status.put(address, status.isEmpty() ? text(row, "status") : status);
                view.rpcReady.put(address, text(row, "rpc_ready"));
                view.schemas.add(text(row, "schema"));
            }
        } catch (Exception e) {
            Session session = sessions.remove(host);
            if (session != null) {
                session.getCluster().close();
            }
            view.error = describe(e);
        }
        return view;
    }

    // Whether HOST, looking twice (before, after), sees PEER alive and serving.
    static String peerState(View before, View after, String peer) {
        if (!after.peers.contains(peer)) {
            return "MISSING"; // not in system.peers_v2: drivers would not find it here
        }
        String status = after.status.getOrDefault(peer, "");
        if (!status.startsWith("NORMAL")) {
            return status.isEmpty() ? "UNKNOWN" : status.split(",")[0];
        }
        if (!"true".equals(after.rpcReady.get(peer))) {
            return "NO-CQL";
        }
        String was = before.beats.get(peer);
        String now = after.beats.get(peer);
        if (was == null || now == null || was.equals(now)) {
            return "DOWN"; // no fresh heartbeat between the two looks
        }
        return "UP";
    }

    static int ring(int port, double timeoutSeconds, List<String> hosts) throws InterruptedException {
        long deadline = System.nanoTime() + (long) (timeoutSeconds * 1e9);
        java.util.Map<String, Session> sessions = new java.util.HashMap<>();
        java.util.Map<String, View> before = new java.util.HashMap<>();
        for (String host : hosts) {
            before.put(host, look(sessions, host, port));
        }
        try {
            while (true) {
                Thread.sleep(1200); // gossip beats once a second
                java.util.Map<String, View> after = new java.util.HashMap<>();
                java.util.Set<String> schemas = new java.util.TreeSet<>();
                List<String> lines = new ArrayList<>();
                boolean ready = true;
                for (String host : hosts) {
                    View now = look(sessions, host, port);
                    after.put(host, now);
                    if (now.error != null) {
                        ready = false;
                        lines.add("down: " + host + ":" + port + " does not answer CQL (" + now.error + ")");
                        continue;
                    }
                    schemas.addAll(now.schemas);
                    List<String> seen = new ArrayList<>();
                    for (String peer : hosts) {
                        if (peer.equals(host)) {
                            continue;
                        }
                        String state = peerState(before.get(host), now, peer);
                        ready &= state.equals("UP");
                        seen.add(peer + " " + state);
                    }
                    for (String extra : now.peers) {
                        if (!hosts.contains(extra)) {
                            seen.add(extra + " (not in this cluster's list)");
                        }
                    }
                    lines.add("up: " + host + ":" + port + " (token " + now.token + ") sees "
                            + (seen.isEmpty() ? "no other node" : String.join(", ", seen)));
                }
                schemas.remove("");
                ready &= schemas.size() <= 1;
                boolean last = ready || System.nanoTime() > deadline;
                if (last) {
                    lines.forEach(System.out::println);
                    if (schemas.size() > 1) {
                        System.out.println("schema versions disagree: " + String.join(", ", schemas));
                    }
                    return ready ? 0 : 1;
                }
                before = after;
            }
        } finally {
            for (Session session : sessions.values()) {
                session.getCluster().close();
            }
        }
    }

    static void runStatement(String host, int port, String cql) {
        try (Cluster cluster = cluster(host, port, 60000); Session session = cluster.connect()) {
            ResultSet rs = session.execute(new SimpleStatement(cql));
            ColumnDefinitions columns = rs.getColumnDefinitions();
            if (columns.size() == 0) {
                return;
            }
            List<String> header = new ArrayList<>();
            for (int i = 0; i < columns.size(); i++) {
                header.add(columns.getName(i));
            }
            System.out.println(String.join(" | ", header));
            long count = 0;
            for (Row row : rs) {
                List<String> cells = new ArrayList<>();
                for (int i = 0; i < columns.size(); i++) {
                    cells.add(render(columns.getType(i), row, i));
                }
                System.out.println(String.join(" | ", cells));
                count++;
            }
            System.out.println("(" + count + (count == 1 ? " row)" : " rows)"));
        }
    }

    static String render(DataType type, Row row, int i) {
        if (row.isNull(i)) {
            return "null";
        }
        DataType.Name name = type.getName();
        if (name == DataType.Name.VARCHAR || name == DataType.Name.TEXT || name == DataType.Name.ASCII) {
            return row.getString(i);
        }
        if (name == DataType.Name.INET) {
            return row.getInet(i).getHostAddress();
        }
        Object value = row.getObject(i);
        try {
            return CodecRegistry.DEFAULT_INSTANCE.codecFor(type).format(value);
        } catch (RuntimeException e) {
            return String.valueOf(value);
        }
    }

    static String describe(Throwable e) {
        String message = e.getMessage();
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + message.replace('\n', ' '));
    }
}
