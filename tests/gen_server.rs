//! The generator's TCP server over real sockets on 127.0.0.1:0.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use ssa::format::Format;
use ssa::gen::{
    partition_lines, serve, CycleRange, KeyMode, ServeMode, ServeOptions, ServeStats, Subscribe,
    Workload, WorkloadOptions,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Upper bound for anything a test waits for, so a bug fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(60);

struct Running {
    addr: SocketAddr,
    shutdown: CancellationToken,
    handle: JoinHandle<std::io::Result<ServeStats>>,
}

impl Running {
    async fn stop(self) -> ServeStats {
        self.shutdown.cancel();
        self.join().await
    }

    async fn join(self) -> ServeStats {
        tokio::time::timeout(PATIENCE, self.handle)
            .await
            .expect("server ends")
            .expect("server task does not panic")
            .expect("server returns its stats")
    }
}

async fn start(opts: ServeOptions) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(serve(listener, opts, shutdown.clone()));
    Running {
        addr,
        shutdown,
        handle,
    }
}

fn workload(format: Format) -> Workload {
    Workload::new(WorkloadOptions {
        format,
        ..WorkloadOptions::default()
    })
    .expect("valid workload")
}

fn options(workload: Workload, mode: ServeMode, cycles: Range<u64>) -> ServeOptions {
    ServeOptions::new(workload, mode, CycleRange::finite(cycles))
}

fn lines_of(w: &Workload, cycles: impl IntoIterator<Item = u64>) -> Vec<u8> {
    let mut out = Vec::new();
    for c in cycles {
        w.write_line(c, &mut out);
    }
    out
}

fn partition_cycles(range: Range<u64>, p: u64, parts: u64) -> impl Iterator<Item = u64> {
    (range.start + p..range.end).step_by(parts as usize)
}

async fn read_all(mut stream: TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut out))
        .await
        .expect("stream ends")
        .expect("read succeeds");
    out
}

async fn subscribe(addr: SocketAddr, s: Subscribe) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(s.to_string().as_bytes())
        .await
        .expect("send request");
    read_all(stream).await
}

async fn request(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("send request");
    String::from_utf8(read_all(stream).await).expect("utf-8 answer")
}

fn count_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// Multiset of lines.
fn multiset(bytes: &[u8]) -> BTreeMap<&[u8], u64> {
    let mut m = BTreeMap::new();
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        *m.entry(line).or_insert(0) += 1;
    }
    m
}

/// (count, sum, min, max) per key, from CSV lines.
fn rollups_of_csv(bytes: &[u8]) -> BTreeMap<(Uuid, String), (u64, i64, i64, i64)> {
    let mut m = BTreeMap::new();
    for line in std::str::from_utf8(bytes).expect("utf-8").lines() {
        let f: Vec<&str> = line.split(',').collect();
        let key = (Uuid::parse_str(f[0]).expect("uuid"), f[1].to_string());
        let v: i64 = f[3].parse().expect("value");
        let e = m.entry(key).or_insert((0, 0, i64::MAX, i64::MIN));
        e.0 += 1;
        e.1 += v;
        e.2 = e.2.min(v);
        e.3 = e.3.max(v);
    }
    m
}

fn truth_rollups(
    w: &Workload,
    range: Range<u64>,
) -> BTreeMap<(Uuid, String), (u64, i64, i64, i64)> {
    let truth = w.truth(range.clone());
    assert_eq!(truth.total_count(), range.end - range.start);
    truth
        .iter()
        .map(|(f, e, t)| ((f, e.to_string()), (t.count, t.sum, t.min, t.max)))
        .collect()
}

#[tokio::test]
async fn partitions_stream_their_exact_cycles_and_replay_from_an_offset() {
    let range = 1_000..31_000;
    let w = workload(Format::Seed);
    let server = start(options(w.clone(), ServeMode::Partitioned, range.clone())).await;
    for p in 0..3 {
        let full = subscribe(
            server.addr,
            Subscribe {
                partition: p,
                partitions: 3,
                offset: 0,
            },
        )
        .await;
        assert_eq!(full, lines_of(&w, partition_cycles(range.clone(), p, 3)));
        assert_eq!(
            count_lines(&full) as u64,
            partition_lines(range.clone(), p, 3)
        );

        let k = 1234;
        let tail = subscribe(
            server.addr,
            Subscribe {
                partition: p,
                partitions: 3,
                offset: k,
            },
        )
        .await;
        let skipped = full
            .split_inclusive(|&b| b == b'\n')
            .take(k as usize)
            .map(<[u8]>::len)
            .sum::<usize>();
        assert_eq!(tail, full[skipped..]);
    }
    // An offset past the partition's end: nothing, then EOF.
    let past = subscribe(
        server.addr,
        Subscribe {
            partition: 0,
            partitions: 3,
            offset: 10_000,
        },
    )
    .await;
    assert!(past.is_empty());
    let stats = server.stop().await;
    assert_eq!(stats.lines_served, 30_000 + (30_000 - 3 * 1234));
    assert_eq!(stats.clients_total, 7);
    assert_eq!(stats.clients_connected, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_partitions_cover_the_range_and_match_the_truth() {
    let range = 0..60_000;
    let w = workload(Format::Csv);
    let server = start(options(w.clone(), ServeMode::Partitioned, range.clone())).await;
    let parts = 4;
    let readers: Vec<_> = (0..parts)
        .map(|p| {
            tokio::spawn(subscribe(
                server.addr,
                Subscribe {
                    partition: p,
                    partitions: parts,
                    offset: 0,
                },
            ))
        })
        .collect();
    let mut all = Vec::new();
    for (p, reader) in readers.into_iter().enumerate() {
        let got = reader.await.expect("reader");
        assert_eq!(
            got,
            lines_of(&w, partition_cycles(range.clone(), p as u64, parts))
        );
        all.extend(got);
    }
    assert_eq!(count_lines(&all), 60_000);
    assert_eq!(rollups_of_csv(&all), truth_rollups(&w, range));
    let stats = server.stop().await;
    assert_eq!(stats.lines_served, 60_000);
}

#[tokio::test]
async fn malformed_subscribe_gets_one_err_line() {
    // Whole lines arrive long before this timeout: their answers never race it.
    let mut opts = options(workload(Format::Seed), ServeMode::Partitioned, 0..100);
    opts.request_timeout = PATIENCE;
    let server = start(opts).await;
    let cases: [(&[u8], &str); 6] = [
        (
            b"HELLO\n",
            "ERR expected 'SUBSCRIBE <p> <P> <offset>', got 'HELLO'\n",
        ),
        (b"SUBSCRIBE 3 3 0\n", "ERR p 3 must be below P 3\n"),
        (b"SUBSCRIBE 0 0 0\n", "ERR P must be at least 1\n"),
        (
            b"SUBSCRIBE 0 1 x\n",
            "ERR offset 'x' is not a non-negative integer\n",
        ),
        (b"SUBSCRIBE \xff\xfe 1 0\n", "ERR request is not utf-8\n"),
        (&[b'S'; 300], "ERR request line longer than 256 bytes\n"),
    ];
    for (bytes, answer) in cases {
        assert_eq!(
            request(server.addr, bytes).await,
            answer,
            "request {bytes:?}"
        );
    }
    // A client that closes before a full line still gets the reason.
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream.write_all(b"SUBSC").await.expect("send");
    stream.shutdown().await.expect("half-close");
    assert_eq!(
        String::from_utf8(read_all(stream).await).expect("utf-8"),
        "ERR connection closed before a full request line\n"
    );
    // The server is unharmed.
    let ok = subscribe(
        server.addr,
        Subscribe {
            partition: 0,
            partitions: 1,
            offset: 0,
        },
    )
    .await;
    assert_eq!(count_lines(&ok), 100);
    let stats = server.stop().await;
    assert_eq!(stats.requests_refused, 7);
}

#[tokio::test]
async fn an_incomplete_subscribe_times_out_with_one_err_line() {
    // No full line ever comes: the answer is the timeout's, however slow the machine.
    let mut opts = options(workload(Format::Seed), ServeMode::Partitioned, 0..100);
    opts.request_timeout = Duration::from_millis(300);
    let server = start(opts).await;
    for bytes in [&b"SUBSCRIBE 0 1 0"[..], b""] {
        assert_eq!(
            request(server.addr, bytes).await,
            "ERR no full request line within 300 ms\n",
            "request {bytes:?}"
        );
    }
    let stats = server.stop().await;
    assert_eq!(stats.requests_refused, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_partition_client_disturbs_no_other() {
    let range = 0..400_000;
    let w = workload(Format::Json);
    let server = start(options(w.clone(), ServeMode::Partitioned, range.clone())).await;
    let addr = server.addr;

    let full_0 = tokio::spawn(subscribe(
        addr,
        Subscribe {
            partition: 0,
            partitions: 2,
            offset: 0,
        },
    ));
    let full_1 = tokio::spawn(subscribe(
        addr,
        Subscribe {
            partition: 1,
            partitions: 2,
            offset: 0,
        },
    ));
    // The dropper reads a little of partition 0, then vanishes mid-stream.
    let mut dropper = TcpStream::connect(addr).await.expect("connect");
    dropper
        .write_all(
            Subscribe {
                partition: 0,
                partitions: 2,
                offset: 0,
            }
            .to_string()
            .as_bytes(),
        )
        .await
        .expect("send");
    let mut some = vec![0u8; 10_000];
    dropper.read_exact(&mut some).await.expect("read some");
    drop(dropper);

    assert_eq!(
        full_0.await.expect("reader 0"),
        lines_of(&w, partition_cycles(range.clone(), 0, 2))
    );
    assert_eq!(
        full_1.await.expect("reader 1"),
        lines_of(&w, partition_cycles(range.clone(), 1, 2))
    );
    let stats = server.stop().await;
    assert_eq!(stats.clients_total, 3);
    assert_eq!(stats.clients_connected, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_mode_serves_every_cycle_exactly_once_over_three_clients() {
    let range = 500..300_500;
    let w = workload(Format::Csv);
    let server = start(options(w.clone(), ServeMode::Shared, range.clone())).await;
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let addr = server.addr;
            tokio::spawn(
                async move { read_all(TcpStream::connect(addr).await.expect("connect")).await },
            )
        })
        .collect();
    let mut all = Vec::new();
    for c in clients {
        all.extend(c.await.expect("client"));
    }
    let expected = lines_of(&w, range.clone());
    assert_eq!(multiset(&all), multiset(&expected));
    assert_eq!(rollups_of_csv(&all), truth_rollups(&w, range));
    // The range is done and every client left: the server ends by itself.
    let stats = server.join().await;
    assert_eq!(stats.lines_served, 300_000);
    assert_eq!(stats.clients_total, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_shared_client_disturbs_no_other() {
    let range = 0..300_000;
    let w = workload(Format::Seed);
    let server = start(options(w.clone(), ServeMode::Shared, range.clone())).await;
    let addr = server.addr;
    let mut dropper = TcpStream::connect(addr).await.expect("connect");
    let mut some = vec![0u8; 10_000];
    dropper.read_exact(&mut some).await.expect("read some");
    let survivors: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn(
                async move { read_all(TcpStream::connect(addr).await.expect("connect")).await },
            )
        })
        .collect();
    drop(dropper);
    // Keep the dropper's complete lines only.
    let complete_len = some.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    some.truncate(complete_len);
    let mut all = some;
    for s in survivors {
        all.extend(s.await.expect("survivor"));
    }
    // No line twice, none that is not due; what the dropper had in flight is lost.
    let expected = multiset_owned(&lines_of(&w, range.clone()));
    let got = multiset(&all);
    let mut complete = 0;
    for (line, n) in &got {
        if line.ends_with(b"\n") {
            assert!(
                *n <= expected.get(*line).copied().unwrap_or(0),
                "unexpected line {line:?}"
            );
            complete += n;
        }
    }
    let stats = server.join().await;
    assert!(complete <= stats.lines_served);
    assert_eq!(stats.clients_total, 3);
    assert_eq!(stats.clients_connected, 0);
}

fn multiset_owned(bytes: &[u8]) -> BTreeMap<Vec<u8>, u64> {
    multiset(bytes)
        .into_iter()
        .map(|(k, v)| (k.to_vec(), v))
        .collect()
}

#[tokio::test]
async fn rate_limited_serving_is_still_exact() {
    let range = 0..3_000;
    let w = workload(Format::Seed);
    let mut opts = options(w.clone(), ServeMode::Shared, range.clone());
    opts.rate = 20_000;
    let server = start(opts).await;
    let got = read_all(TcpStream::connect(server.addr).await.expect("connect")).await;
    assert_eq!(got, lines_of(&w, range));
    assert_eq!(server.join().await.lines_served, 3_000);
}

#[tokio::test]
async fn shutdown_ends_endless_streams() {
    let w = Workload::new(WorkloadOptions {
        keys: KeyMode::Unbounded,
        ..WorkloadOptions::default()
    })
    .expect("valid workload");
    let opts = ServeOptions::new(w.clone(), ServeMode::Partitioned, CycleRange::endless(0));
    let counters = Arc::clone(&opts.counters);
    let server = start(opts).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(
            Subscribe {
                partition: 0,
                partitions: 1,
                offset: 0,
            }
            .to_string()
            .as_bytes(),
        )
        .await
        .expect("send");
    let mut first = vec![0u8; w.line(0).len()];
    stream.read_exact(&mut first).await.expect("first line");
    assert_eq!(first, w.line(0).as_bytes());
    assert_eq!(counters.clients_connected(), 1);
    let stats = server.stop().await;
    assert_eq!(stats.clients_connected, 0);
    // The stream ends (EOF or reset) instead of hanging.
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest))
        .await
        .expect("stream ends");
}

#[tokio::test]
async fn empty_shared_range_ends_at_once() {
    let server = start(options(workload(Format::Seed), ServeMode::Shared, 5..5)).await;
    assert_eq!(server.join().await, ServeStats::default());
}
