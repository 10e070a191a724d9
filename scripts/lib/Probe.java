// CQL probe for scripts/cassandra: waits for a node to answer CQL, or runs one statement.
//
//   java -cp 'CACHE/lib/*:CLASSES' Probe wait HOST PORT TIMEOUT_SECONDS [PID]
//       Retries `SELECT release_version FROM system.local` on HOST:PORT until it answers
//       (prints the version, exit 0), the timeout passes (exit 1) or process PID is gone
//       (exit 2). Stays in one JVM: a cheap TCP connect is tried before each driver session.
//   java ... Probe version HOST PORT
//       One attempt; prints the version (exit 0) or the error (exit 1).
//   java ... Probe cql HOST PORT STATEMENT
//       Runs one CQL statement on HOST:PORT and prints the rows (exit 0), or the error (exit 1).
//
// It uses the DataStax Java driver 3.x that ships with cassandra-all (shaded jar), so it
// needs nothing that the node's own jar folder does not already hold.

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
import com.datastax.driver.core.policies.RoundRobinPolicy;
import com.datastax.driver.core.policies.WhiteListPolicy;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

public class Probe {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            usage();
        }
        String mode = args[0];
        String host = args[1];
        int port = Integer.parseInt(args[2]);
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
        System.err.println("usage: Probe wait HOST PORT TIMEOUT_SECONDS [PID] | version HOST PORT | cql HOST PORT STATEMENT");
        System.exit(64);
    }

    // The driver's default close waits out Netty's 2 s quiet period; a one-shot probe need not.
    static final NettyOptions QUICK_CLOSE = new NettyOptions() {
        @Override
        public void onClusterClose(com.datastax.shaded.netty.channel.EventLoopGroup group) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    };

    static Cluster cluster(String host, int port, int readTimeoutMillis) {
        InetSocketAddress address = new InetSocketAddress(host, port);
        return Cluster.builder()
                .addContactPointsWithPorts(address)
                .withLoadBalancingPolicy(new WhiteListPolicy(new RoundRobinPolicy(), Collections.singletonList(address)))
                .withSocketOptions(new SocketOptions().setConnectTimeoutMillis(5000).setReadTimeoutMillis(readTimeoutMillis))
                .withQueryOptions(new QueryOptions().setMetadataEnabled(false))
                .withoutMetrics()
                .withoutJMXReporting()
                .withNettyOptions(QUICK_CLOSE)
                .build();
    }

    static String releaseVersion(String host, int port, int readTimeoutMillis) {
        try (Cluster cluster = cluster(host, port, readTimeoutMillis); Session session = cluster.connect()) {
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
