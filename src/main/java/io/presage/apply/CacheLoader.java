package io.presage.apply;

import org.jboss.logging.Logger;

import io.quarkus.vertx.VertxContextSupport;

/**
 * Loads a node's store into its read cache when the applier (re)starts at a position the cache is
 * not at (DESIGN §10: a restarting node loads its materialised state). A store that fits makes the
 * cache complete, so reads of absent keys and the certifier's cold-key lookups never reach
 * PostgreSQL; a larger one leaves the most recently written keys cached.
 */
public final class CacheLoader {
    private static final Logger LOG = Logger.getLogger(CacheLoader.class);

    private CacheLoader() {
    }

    /**
     * Called on the applier's thread from {@link ApplyHook#starting}, before it applies anything, so
     * the store holds exactly the state at {@code applied} while it is read.
     */
    public static void loadIfMoved(ReadCache cache, ItemStore store, long applied) {
        if (cache.position() == applied) {
            return; // the applier restarted where the cache already is: it is still exact
        }
        long start = System.nanoTime();
        ItemStore.Recent s;
        try {
            s = VertxContextSupport.subscribeAndAwait(() -> store.loadRecent(cache.capacity(), cache.maxBytes()));
        } catch (Throwable e) {
            LOG.warnf("read cache: could not load the store (%s); starting empty", e.getMessage());
            cache.reset(applied);
            return;
        }
        if (s.appliedSequence() != applied) {
            // Not the state the applier starts from (nothing else should write the store): do not guess.
            LOG.warnf("read cache: the store moved from %d to %d while loading; starting empty", applied,
                    s.appliedSequence());
            cache.reset(applied);
            return;
        }
        cache.load(applied, s.items(), s.whole());
        LOG.infof("read cache: loaded %,d keys (%,d kB of %,d kB) at log sequence %d in %d ms (%s)", cache.size(),
                cache.bytes() / 1024, cache.maxBytes() / 1024, applied, (System.nanoTime() - start) / 1_000_000,
                cache.complete() ? "the whole store: a miss is an absent key" : "the most recent; misses read the store");
    }
}
