// Package bench measures broadcaster against the targets of issue 11 and
// prints them as one table (`make bench`, cmd/benchtable): for each
// scenario the figure, the target and whether it holds.
//
// Everything runs on this machine, on loopback: a throwaway PostgreSQL of
// the harness's own (internal/pgtemp, with full_page_writes on so that WAL
// figures are production's), the fake sendApplet API in Cheap mode inside
// the harness process (auth and JSON checked, unique ids answered, arrival
// times kept), and the real broadcaster binary, `run --once`, as a child
// process. Each scenario gets a fresh database, and stops by itself: its
// sizes are bounded and it runs under a timeout.
//
// The throughput scenario also measures River (bench/river, a module of its
// own, Options.River) sending the same requests as one job per recipient,
// against the same database server and fake API, the same way: the queue an
// engineer would reach for, without broadcaster's audit trail.
//
// What is measured, and how:
//   - deliveries/s: deliveries over the span from the first to the last
//     request the fake API received;
//   - CPU per delivery: user+system time of the broadcaster processes
//     (getrusage of the exited child) plus that of the PostgreSQL server's
//     whole process tree (/proc/<pid>/stat of the postmaster, its own and
//     its reaped children's, and of every live child), before and after,
//     over the deliveries. The fake API runs in the harness, whose own CPU
//     is measured apart and excluded; the bare loop runs as a child process
//     (this program re-executed) so that its CPU is its own;
//   - WAL per delivery: pg_current_wal_lsn before and after;
//   - bytes per recipient: the growth of pg_total_relation_size (heap,
//     indexes, TOAST) summed over every table of the schema;
//   - peak RSS: ru_maxrss of the exited process, which is its VmHWM.
package bench
