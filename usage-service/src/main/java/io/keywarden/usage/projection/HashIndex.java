package io.keywarden.usage.projection;

import io.keywarden.usage.projection.KeyProjection.Hash;
import io.keywarden.usage.projection.KeyProjection.KeyEntry;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The hash index of the projection: an open-addressing table (linear probing) of the entries
 * themselves, each found by the SHA-256 it carries inline. Per key it costs one slot (4 B with
 * compressed oops, table at most half full) instead of a map node and a hash object (about 88 B).
 *
 * <p>One writer at a time (the projection's lock); readers take no lock. A replacement swaps the
 * slot in one store, so a reader sees the old entry or the new one, never a gap; a growth builds a
 * new table and publishes it whole.
 */
final class HashIndex {
  private final KeyEntry tomb;
  private volatile AtomicReferenceArray<KeyEntry> table = new AtomicReferenceArray<>(1024);
  // live entries and tombstones; written by the writer only
  private int live;
  private int used;

  HashIndex(KeyEntry tomb) {
    this.tomb = tomb;
  }

  private static int spread(int h) {
    return h ^ (h >>> 16);
  }

  KeyEntry get(Hash h) {
    AtomicReferenceArray<KeyEntry> t = table;
    int mask = t.length() - 1;
    for (int i = spread(h.hashCode()) & mask; ; i = (i + 1) & mask) {
      KeyEntry e = t.getAcquire(i);
      if (e == null) {
        return null;
      }
      if (e != tomb && e.sameHash(h)) {
        return e;
      }
    }
  }

  /** Puts the entry in place of the one with the same hash, if any. Writer only. */
  void put(KeyEntry entry) {
    AtomicReferenceArray<KeyEntry> t = table;
    int mask = t.length() - 1;
    int free = -1;
    int i = spread(entry.hashCode()) & mask;
    for (; ; i = (i + 1) & mask) {
      KeyEntry e = t.getPlain(i);
      if (e == null) {
        break;
      }
      if (e == tomb) {
        if (free < 0) {
          free = i;
        }
      } else if (e.sameHash(entry)) {
        t.setRelease(i, entry);
        return;
      }
    }
    if (free >= 0) {
      t.setRelease(free, entry);
    } else {
      t.setRelease(i, entry);
      used++;
    }
    live++;
    if (used * 2 > t.length()) {
      rebuild(live * 4 > t.length() ? t.length() * 2 : t.length());
    }
  }

  /** Removes this very entry (identity) if it is still indexed. Writer only. */
  void remove(KeyEntry entry) {
    AtomicReferenceArray<KeyEntry> t = table;
    int mask = t.length() - 1;
    for (int i = spread(entry.hashCode()) & mask; ; i = (i + 1) & mask) {
      KeyEntry e = t.getPlain(i);
      if (e == null) {
        return;
      }
      if (e == entry) {
        t.setRelease(i, tomb);
        live--;
        return;
      }
    }
  }

  int size() {
    return live;
  }

  private void rebuild(int capacity) {
    AtomicReferenceArray<KeyEntry> old = table;
    AtomicReferenceArray<KeyEntry> t = new AtomicReferenceArray<>(capacity);
    int mask = capacity - 1;
    for (int j = 0; j < old.length(); j++) {
      KeyEntry e = old.getPlain(j);
      if (e != null && e != tomb) {
        int i = spread(e.hashCode()) & mask;
        while (t.getPlain(i) != null) {
          i = (i + 1) & mask;
        }
        t.setPlain(i, e);
      }
    }
    used = live;
    table = t; // volatile: publishes the filled table whole
  }
}
