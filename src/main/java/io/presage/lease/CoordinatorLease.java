package io.presage.lease;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import org.jboss.logging.Logger;

import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.KeyValue;
import io.nats.client.KeyValueManagement;
import io.nats.client.api.KeyValueConfiguration;
import io.nats.client.api.KeyValueEntry;
import io.nats.client.api.StorageType;

/**
 * The active coordinator's lease (DESIGN §10): one entry in a NATS key-value bucket whose TTL is the
 * lease's length. Whoever creates the entry holds the lease, and keeps it by updating the entry at
 * the revision it last wrote, every third of the TTL. A standby waits until the entry has expired
 * (the server drops it TTL after its last update) and then creates it.
 *
 * <h2>What it guarantees, and what does not rest on it</h2>
 * Two coordinators never both <em>commit</em>: every append expects the log's last sequence, so a
 * coordinator that lost its lease without noticing is refused by JetStream the moment the new holder
 * has appended, and rebuilds its certifier from the log before it could commit anything (see
 * {@code GroupCommit}). The lease is what makes that rare: a holder stops serving once it has not
 * renewed for {@code ttl − margin} by its own clock ({@link #valid}), which is before the server can
 * expire the entry, since the server's TTL starts at the update's arrival, after it was sent. A holder
 * that learns it lost the lease (an update refused, or the validity passed) is told once
 * ({@code onLost}) and does not try again: a coordinator that lost its lease stops, and a restarted one
 * is a standby.
 *
 * <p>The connection comes from a supplier asked at every use (the node's log connection, which is
 * replaced rather than repaired when it is lost: see {@code JetStreamLog}), so that a lease keeps
 * working across NATS restarts; the bucket handle is made again whenever the connection changes.
 *
 * <p>Holder identity is the node id plus a random instance id, so a coordinator restarted within the
 * TTL waits for its own old lease to expire like any standby: it cannot tell whether the old process
 * is still running.
 */
public final class CoordinatorLease implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(CoordinatorLease.class);
    /** JetStream's "wrong last sequence": the entry exists (create) or moved on (update). */
    private static final int ERR_WRONG_LAST_SEQUENCE = 10071;
    /** JetStream's "stream not found": the bucket itself is gone. */
    private static final int ERR_STREAM_NOT_FOUND = 10059;

    private final Supplier<Connection> connections;
    private final String bucket;
    private Connection kvConnection;
    private KeyValue kvHandle;
    private final String key;
    private final String holder;
    private final Duration ttl;
    private final long marginNanos;
    private final Runnable onLost;
    private final int replicas;
    private final StorageType storage;
    private volatile long revision;
    /** System.nanoTime() until which this holder may act as the active coordinator; 0: not holding. */
    private volatile long validUntilNanos;
    private volatile boolean lost;
    private volatile boolean closed;
    private Thread renewer;

    /**
     * Opens (creating if absent) bucket {@code bucket} with the lease's TTL.
     *
     * @param connections the NATS connection to use now (may throw while there is none)
     * @param onLost run once, on the renewing thread, when a lease this object held is lost
     */
    public CoordinatorLease(Supplier<Connection> connections, String bucket, String key, String nodeId, Duration ttl,
            int replicas, StorageType storage, Runnable onLost) throws IOException, JetStreamApiException {
        if (ttl.toMillis() < 300) {
            throw new IllegalArgumentException("the lease ttl must be at least 300ms, not " + ttl);
        }
        this.connections = connections;
        this.bucket = bucket;
        this.key = key;
        this.holder = nodeId + "/" + UUID.randomUUID();
        this.onLost = onLost;
        this.replicas = replicas;
        this.storage = storage;
        KeyValueManagement kvm = connections.get().keyValueManagement();
        Duration bucketTtl = ttl;
        try {
            bucketTtl = kvm.getStatus(bucket).getTtl();
        } catch (JetStreamApiException e) {
            createBucket(ttl);
        }
        if (bucketTtl == null || bucketTtl.toMillis() < 300) {
            throw new IllegalStateException("lease bucket " + bucket + " exists with ttl " + bucketTtl
                    + ": a lease in it would not expire when its holder dies; delete the bucket or give it a ttl");
        }
        if (!bucketTtl.equals(ttl)) {
            // The server expires the entry by the bucket's TTL, whatever this process was configured
            // with: counting validity and renewals by a longer one would let the entry expire, and a
            // standby take over, while this process still believed it held the lease.
            LOG.warnf("lease bucket %s exists with ttl %s, not the configured %s: using the bucket's", bucket, bucketTtl, ttl);
        }
        this.ttl = bucketTtl;
        this.marginNanos = bucketTtl.toNanos() / 5;
    }

    private void createBucket(Duration bucketTtl) throws IOException, JetStreamApiException {
        connections.get().keyValueManagement().create(KeyValueConfiguration.builder().name(bucket).ttl(bucketTtl)
                .maxHistoryPerKey(1).storageType(storage).replicas(replicas).build());
    }

    /**
     * The bucket is gone (memory storage and a NATS restart, deleted by hand): its holder's renewals
     * fail and it gives the lease up, and without a bucket no standby could ever take it. Made again,
     * with the TTL this lease runs by; whoever then creates the entry first holds the lease, as always.
     */
    private void recreateBucketIfGone() {
        try {
            connections.get().keyValueManagement().getStatus(bucket);
            return; // there: the trouble is elsewhere
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() != ERR_STREAM_NOT_FOUND) {
                return;
            }
        } catch (IOException | RuntimeException e) {
            return; // NATS itself out of reach
        }
        try {
            createBucket(ttl);
            LOG.warnf("lease bucket %s was gone: created it again (ttl %s)", bucket, ttl);
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            LOG.warnf("lease bucket %s is gone and cannot be created again: %s", bucket, e.getMessage());
        }
    }

    /** The TTL the lease runs by: the bucket's, which the server enforces. */
    public Duration ttl() {
        return ttl;
    }

    /** The bucket on the current connection; made again when the connection has been replaced. */
    private synchronized KeyValue kv() throws IOException {
        Connection nc = connections.get();
        if (nc != kvConnection) {
            kvHandle = nc.keyValue(bucket);
            kvConnection = nc;
        }
        return kvHandle;
    }

    /** This process's holder id, as written in the entry. */
    public String holder() {
        return holder;
    }

    /** Who holds the lease now, as the bucket says (null: nobody, or it cannot be read). */
    public String currentHolder() {
        try {
            KeyValueEntry e = kv().get(key);
            return e == null || e.getValue() == null ? null : new String(e.getValue(), StandardCharsets.UTF_8);
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Blocks until this process holds the lease (true), or {@code stop} says to give up (false). Then
     * keeps it, on a thread of its own, until it is lost or {@link #close closed}.
     */
    public boolean acquire(BooleanSupplier stop) throws InterruptedException {
        long poll = Math.max(50, ttl.toMillis() / 4);
        String lastSeen = null;
        while (!stop.getAsBoolean() && !closed) {
            long sentAt = System.nanoTime();
            try {
                revision = kv().create(key, holder.getBytes(StandardCharsets.UTF_8));
                validUntilNanos = sentAt + ttl.toNanos() - marginNanos;
                LOG.infof("lease %s acquired by %s (ttl %s)", key, holder, ttl);
                startRenewing();
                return true;
            } catch (JetStreamApiException e) {
                if (e.getApiErrorCode() == ERR_STREAM_NOT_FOUND) {
                    recreateBucketIfGone();
                } else if (e.getApiErrorCode() != ERR_WRONG_LAST_SEQUENCE) {
                    LOG.warnf("lease %s: cannot create the entry: %s", key, e.getMessage());
                } else {
                    String now = currentHolder();
                    if (now != null && !now.equals(lastSeen)) {
                        LOG.infof("lease %s is held by %s; standing by until it expires", key, now);
                    }
                    lastSeen = now;
                }
            } catch (IOException | RuntimeException e) {
                // A put to a bucket that is gone finds no responders: no error code says so.
                LOG.warnf("lease %s: the key-value bucket cannot be reached: %s", key, e.getMessage());
                recreateBucketIfGone();
            }
            Thread.sleep(poll);
        }
        return false;
    }

    /** Whether this process may act as the active coordinator at {@code nowNanos} (System.nanoTime()). */
    public boolean valid(long nowNanos) {
        return !lost && nowNanos - validUntilNanos < 0;
    }

    public boolean valid() {
        return valid(System.nanoTime());
    }

    private void startRenewing() {
        renewer = new Thread(this::renewUntilLost, "presage-lease");
        renewer.setDaemon(true);
        renewer.start();
    }

    /** After a failed renewal, the next try comes this soon rather than a period later. */
    private static final long RETRY_PAUSE_MS = 100;

    /**
     * Renews every third of the TTL. A failed renewal is tried again soon, not a period later: a
     * renewal that timed out has already used up part of the validity (with the default 5 s TTL and a
     * 2 s request timeout, a whole period more would outlast it).
     */
    private void renewUntilLost() {
        long period = ttl.toMillis() / 3;
        long pause = period;
        while (!closed) {
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                return;
            }
            pause = period;
            if (!valid()) {
                lose("not renewed within " + Duration.ofNanos(ttl.toNanos() - marginNanos) + " (this process or the server stalled)");
                return;
            }
            long sentAt = System.nanoTime();
            try {
                // Read first: a bucket made again after it was lost numbers its entries from 1, and an
                // update expecting this holder's revision could land on another holder's entry there.
                KeyValueEntry current = kv().get(key);
                String now = current == null || current.getValue() == null ? null
                        : new String(current.getValue(), StandardCharsets.UTF_8);
                if (!holder.equals(now)) {
                    lose("the entry moved on: it expired, and " + describe(now) + " holds it now");
                    return;
                }
                if (current.getRevision() != revision) {
                    // An earlier renewal landed but its reply was lost: the entry is still ours, at a
                    // revision this process did not hear of (the validity is not extended by it: when
                    // it landed is not known).
                    LOG.warnf("lease %s: a renewal's reply was lost; the entry is still ours (revision %d)", key,
                            current.getRevision());
                    revision = current.getRevision();
                }
                revision = kv().update(key, holder.getBytes(StandardCharsets.UTF_8), revision);
                validUntilNanos = sentAt + ttl.toNanos() - marginNanos;
            } catch (JetStreamApiException e) {
                if (e.getApiErrorCode() == ERR_WRONG_LAST_SEQUENCE) {
                    long ours = ownRevision();
                    if (ours > 0) {
                        // An earlier renewal landed but its reply was lost: the entry is still ours, at a
                        // revision this process did not hear of. Renew from it at once (the validity is
                        // not extended by the lost one: when it landed is not known).
                        LOG.warnf("lease %s: a renewal's reply was lost; the entry is still ours (revision %d)", key, ours);
                        revision = ours;
                        pause = 0;
                        continue;
                    }
                    lose("the entry moved on: it expired, and " + describe(currentHolder()) + " holds it now");
                    return;
                }
                LOG.warnf("lease %s: renewal refused (%s); trying again", key, e.getMessage());
                pause = Math.min(RETRY_PAUSE_MS, period);
            } catch (IOException | RuntimeException e) {
                LOG.warnf("lease %s: renewal failed (%s); trying again", key, e.getMessage());
                pause = Math.min(RETRY_PAUSE_MS, period);
            }
        }
    }

    /** Deletes the entry if it still names this holder, also at a revision a lost renewal reply hid. */
    private void release() throws IOException, JetStreamApiException {
        try {
            kv().delete(key, revision);
        } catch (JetStreamApiException e) {
            long ours = e.getApiErrorCode() == ERR_WRONG_LAST_SEQUENCE ? ownRevision() : 0;
            if (ours == 0) {
                throw e;
            }
            kv().delete(key, ours);
        }
    }

    /** The entry's revision if it names this holder, else 0 (someone else's, gone, or unreadable). */
    private long ownRevision() {
        try {
            KeyValueEntry e = kv().get(key);
            return e != null && e.getValue() != null && holder.equals(new String(e.getValue(), StandardCharsets.UTF_8))
                    ? e.getRevision() : 0;
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            return 0;
        }
    }

    private static String describe(String holder) {
        return holder == null ? "nobody" : holder;
    }

    private void lose(String why) {
        if (closed) {
            return;
        }
        lost = true;
        validUntilNanos = 0;
        LOG.errorf("lease %s lost by %s: %s", key, holder, why);
        onLost.run();
    }

    /** Stops renewing and, if still held, gives the lease up at once so that a standby need not wait for the TTL. */
    @Override
    public void close() {
        closed = true;
        Thread r = renewer;
        if (r != null) {
            r.interrupt();
            try {
                r.join(1_000); // a renewal in flight may still land: release after it, from its revision
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (valid()) {
            try {
                release();
                LOG.infof("lease %s released by %s", key, holder);
            } catch (IOException | JetStreamApiException | RuntimeException e) {
                LOG.warnf("lease %s: could not release it (%s); it expires by itself", key, e.getMessage());
            }
        }
        validUntilNanos = 0;
    }
}
