"""Link each article to the first-seen article it nearly duplicates.

Locality-sensitive hashing by bands (as in datasketch's MinHashLSH) over a small
key-value store: Redis in the services mode, shared by every enrich worker, SQLite in
the embedded mode, with the same answers. Two band sets are looked up: those of the
whole-text signature (copies, light rewrites) and those of the lead signature (teasers).
Every candidate is then confirmed on the whole-text signature: estimated Jaccard at
least ``jaccard_threshold``, or the smaller text at least ``containment_threshold``
inside the larger (a teaser inside its full article).

``duplicate_of`` always names the first-seen article of the group (the root), so copies
of copies point to the original.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import redis

from kabar.contract.retention import RetentionLedger
from kabar.contract.state import connect, immediate
from kabar_enrich.fingerprint import Fingerprint, Signature, containment, jaccard

# 32 bands of 4 rows on 128 permutations: a pair at Jaccard 0.6 shares a band with
# probability 0.99, a pair of unrelated articles (Jaccard ~0.02) about once in 200,000.
BAND_ROWS = 4


@dataclass(frozen=True, slots=True)
class LinkRecord:
    article_id: str
    signature: Signature
    shingle_count: int
    duplicate_of: str | None
    sequence: int


# Given the stored articles that share a band with the new one, the root it duplicates (or None).
RootChooser = Callable[[list[LinkRecord]], str | None]


class LinkStore(Protocol):
    def link(self, article_id: str, fingerprint: Fingerprint, choose_root: RootChooser) -> str | None:
        """The stored answer for a known article; else ``choose_root`` over the band candidates, stored.

        The first stored answer wins: a redelivered message gets the answer it got the first time.
        """
        ...


def band_keys(signature: Signature, kind: str, rows: int = BAND_ROWS) -> list[str]:
    raw = signature.astype("<u4").tobytes()
    width = rows * 4
    return [f"{kind}{band}:{hashlib.blake2b(raw[band * width:(band + 1) * width], digest_size=8).hexdigest()}"
            for band in range(len(signature) // rows)]


def all_band_keys(fingerprint: Fingerprint) -> list[str]:
    """The whole text's bands, then the lead's."""
    return band_keys(fingerprint.full, "f") + band_keys(fingerprint.lead, "l")


class NearDuplicateIndex:
    def __init__(self, store: LinkStore, jaccard_threshold: float = 0.5,
                 containment_threshold: float = 0.6) -> None:
        self._store = store
        self._jaccard_threshold = jaccard_threshold
        self._containment_threshold = containment_threshold

    def link(self, article_id: str, fingerprint: Fingerprint) -> str | None:
        """The root this article duplicates, if any; asking again gives the same answer."""
        return self._store.link(article_id, fingerprint,
                                lambda candidates: self._root(article_id, candidates, fingerprint))

    def is_duplicate(self, record: LinkRecord, fingerprint: Fingerprint) -> bool:
        similarity = jaccard(record.signature, fingerprint.full)
        if similarity >= self._jaccard_threshold:
            return True
        inside = containment(similarity, record.shingle_count, fingerprint.shingle_count)
        return inside >= self._containment_threshold

    def _root(self, article_id: str, candidates: list[LinkRecord], fingerprint: Fingerprint) -> str | None:
        matches = [record for record in candidates
                   if record.article_id != article_id and self.is_duplicate(record, fingerprint)]
        original = min(matches, key=lambda record: record.sequence, default=None)
        return (original.duplicate_of or original.article_id) if original else None


# ---------------------------------------------------------------- Redis
#
# Every article gets a sequence number (its arrival order, and its compact handle):
#   {p}:lsh:sequence         counter
#   {p}:lsh:id:{shard}       hash: blake2b-128 of the article id -> sequence   ("seen before?")
#   {p}:lsh:rec:{seq >> 10}  hash: seq & 1023 -> packed record (signature, size, id, duplicate_of)
#   {p}:lsh:b:{shard}        hash: low 48 bits of a band bucket's 64-bit hash -> "seq seq ..."
#   {p}:lsh:bands:{seq >> 10} hash: seq & 1023 -> the article's 64 bucket hashes (8 bytes each), so that
#                            retention can take the article out of its buckets (512 bytes per article)
#   {p}:retention:neardup    ledger of record shards (kabar.contract.retention): a shard not written
#                            for KABAR_STATE_RETENTION_DAYS is forgotten with its articles
# A set per band bucket cost 64 keys per article (~22 KB on Redis 7.0). Spreading buckets and
# ids over a fixed number of small hashes keeps each hash in Redis's listpack encoding (at most
# 128 entries of at most 64 bytes by default): about 13 bytes per bucket entry instead of a key,
# a dict entry and a set. 2^21 band hashes hold ~30 entries each at 1M articles, and stay under
# 128 up to ~3M. Past that, or once a bucket's members outgrow 64 bytes (about 8 articles sharing
# a band, as syndicated copies do), Redis turns that one hash into a hashtable: more memory, same answers.
ID_SHARD_BITS = 15
BAND_SHARD_BITS = 21
BAND_FIELD_BYTES = 6
RECORD_SHARD_SHIFT = 10
_RECORD_HEADER = struct.Struct("<IHH")  # shingle count, signature length, article id length

# Looking up is one script call, not a pipeline of 66 commands: with redis-py, packing those
# commands and parsing their replies cost more CPU than Redis spends answering them. For the same
# reason the band fields travel as one string of BAND_FIELD_BYTES-byte fields, not 64 arguments.
# KEYS: id hash, sequence counter, band hashes...  ARGV: id field, band fields.
# Returns {sequence} for a known article, else {a new sequence, the buckets' members space-separated}.
_LOOKUP = """
local known = redis.call('HGET', KEYS[1], ARGV[1])
if known then return {known} end
local members = {}
for i = 3, #KEYS do
  local at = (i - 3) * %(width)d
  local bucket = redis.call('HGET', KEYS[i], string.sub(ARGV[2], at + 1, at + %(width)d))
  if bucket then members[#members + 1] = bucket end
end
return {redis.call('INCR', KEYS[2]), table.concat(members, ' ')}
"""

# First answer wins, atomically: a redelivered or concurrently enriched article is stored once,
# and two workers appending to the same bucket cannot lose each other's sequence.
# KEYS: id hash, record hash, bucket-hashes hash, retention ledger, band hashes...
# ARGV: id field, sequence, record field, record, band fields, bucket hashes, now ('' without retention), shard.
# Returns the sequence stored for the article: another one if another worker stored it first.
_ADD = """
local known = redis.call('HGET', KEYS[1], ARGV[1])
if known then return known end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[6])
if ARGV[7] ~= '' then redis.call('ZADD', KEYS[4], ARGV[7], ARGV[8]) end
for i = 5, #KEYS do
  local at = (i - 5) * %(width)d
  local field = string.sub(ARGV[5], at + 1, at + %(width)d)
  -- Most buckets are new: one call for them, three to append to a bucket that has members.
  if redis.call('HSETNX', KEYS[i], field, ARGV[2]) == 0 then
    redis.call('HSET', KEYS[i], field, redis.call('HGET', KEYS[i], field) .. ' ' .. ARGV[2])
  end
end
return ARGV[2]
"""

# Retention: one forgotten article out of its id hash and its buckets.
# KEYS: id hash, band hashes...  ARGV: id field, sequence, band fields.
_FORGET = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
for i = 2, #KEYS do
  local at = (i - 2) * %(width)d
  local field = string.sub(ARGV[3], at + 1, at + %(width)d)
  local bucket = redis.call('HGET', KEYS[i], field)
  if bucket then
    local kept = {}
    for member in string.gmatch(bucket, '%%S+') do
      if member ~= ARGV[2] then kept[#kept + 1] = member end
    end
    if #kept == 0 then redis.call('HDEL', KEYS[i], field)
    else redis.call('HSET', KEYS[i], field, table.concat(kept, ' ')) end
  end
end
"""


@dataclass(frozen=True, slots=True)
class _Bands:
    """Where an article's band buckets live in Redis: a hash each, and the field there of each."""

    keys: list[bytes]
    fields: bytes
    hashes: bytes  # the 64-bit bucket hashes themselves, kept so retention can find the buckets again


@lru_cache(maxsize=8)
def _multipliers(bands: int) -> npt.NDArray[np.uint64]:
    """An odd 64-bit multiplier per band and row, derived from nothing that a library upgrade can change."""
    values = [int.from_bytes(hashlib.blake2b(b"kabar band %d row %d" % (band, row), digest_size=8).digest()) | 1
              for band in range(bands) for row in range(BAND_ROWS)]
    return np.array(values, dtype=np.uint64).reshape(bands, BAND_ROWS)


def bucket_hashes(fingerprint: Fingerprint) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each band's rows, whole text's bands first, distinct per band.

    Vectorised (tens of microseconds for 64 bands, not one blake2b call each): a multilinear
    hash with per-band multipliers, then splitmix64's finaliser so every bit depends on every row.
    Two buckets colliding (about once in 2^64) only adds a candidate, judged on Jaccard like any other.
    """
    bands = len(fingerprint.full) // BAND_ROWS
    rows = np.concatenate([fingerprint.full[: bands * BAND_ROWS], fingerprint.lead[: bands * BAND_ROWS]])
    products = rows.astype(np.uint64).reshape(-1, BAND_ROWS) * _multipliers(2 * bands)
    mixed: npt.NDArray[np.uint64] = products.sum(axis=1, dtype=np.uint64)
    mixed ^= mixed >> np.uint64(30)
    mixed *= np.uint64(0xBF58476D1CE4E5B9)
    mixed ^= mixed >> np.uint64(27)
    mixed *= np.uint64(0x94D049BB133111EB)
    mixed ^= mixed >> np.uint64(31)
    return mixed


def _pack(article_id: str, fingerprint: Fingerprint, duplicate_of: str | None) -> bytes:
    identity = article_id.encode()
    header = _RECORD_HEADER.pack(fingerprint.shingle_count, len(fingerprint.full), len(identity))
    return header + fingerprint.full.astype("<u4").tobytes() + identity + (duplicate_of or "").encode()


def _unpack(sequence: int, raw: bytes) -> LinkRecord:
    shingle_count, permutations, id_length = _RECORD_HEADER.unpack_from(raw)
    signature_end = _RECORD_HEADER.size + 4 * permutations
    id_end = signature_end + id_length
    signature = np.frombuffer(raw, dtype="<u4", count=permutations, offset=_RECORD_HEADER.size)
    return LinkRecord(raw[signature_end:id_end].decode(), signature.astype(np.uint32), shingle_count,
                      raw[id_end:].decode() or None, sequence)


class RedisLinkStore:
    """Three round trips for a new article: its id and buckets, the candidates' records, the add.

    Two when no bucket has a candidate; two for a known article (its id, then its record).
    """

    def __init__(self, client: redis.Redis[bytes], key_prefix: str, ledger: RetentionLedger | None = None) -> None:
        self._redis = client
        self._prefix = f"{key_prefix}:lsh".encode()
        self._sequence_key = self._prefix + b":sequence"
        self._lookup = client.register_script(_LOOKUP % {"width": BAND_FIELD_BYTES})
        self._add = client.register_script(_ADD % {"width": BAND_FIELD_BYTES})
        self._forget = client.register_script(_FORGET % {"width": BAND_FIELD_BYTES})
        self._ledger = ledger

    def link(self, article_id: str, fingerprint: Fingerprint, choose_root: RootChooser) -> str | None:
        id_key, id_field = self._id_slot(article_id)
        bands = self._bands(fingerprint)
        found = self._lookup(keys=[id_key, self._sequence_key, *bands.keys], args=[id_field, bands.fields])
        if len(found) == 1:
            return self._records([int(found[0])])[0].duplicate_of
        sequence, members = int(found[0]), found[1]
        duplicate_of = choose_root(self._records(sorted({int(member) for member in members.split()})))
        keys, args = self._add_input(article_id, sequence, fingerprint, duplicate_of, bands)
        stored = int(self._add(keys=keys, args=args))
        if self._ledger:
            self._ledger.maybe_sweep(self.forget)
        if stored == sequence:
            return duplicate_of
        return self._records([stored])[0].duplicate_of  # another worker stored this article first

    def add_many(self, items: Sequence[tuple[str, Fingerprint, str | None]]) -> None:
        """Store many articles at once (a backfill): one round trip for their sequences, one for the adds.

        Each item is (article id, fingerprint, duplicate_of); an article already stored is left as it is.
        """
        if not items:
            return
        first = int(self._redis.incrby(self._sequence_key, len(items))) - len(items) + 1
        pipe = self._redis.pipeline(transaction=False)
        for sequence, (article_id, fingerprint, duplicate_of) in enumerate(items, start=first):
            keys, args = self._add_input(article_id, sequence, fingerprint, duplicate_of, self._bands(fingerprint))
            self._add(keys=keys, args=args, client=pipe)
        pipe.execute()

    def _records(self, sequences: list[int]) -> list[LinkRecord]:
        if not sequences:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for sequence in sequences:
            pipe.hget(*self._record_slot(sequence))
        return [_unpack(sequence, raw) for sequence, raw in zip(sequences, pipe.execute(), strict=True)
                if raw is not None]

    def _add_input(self, article_id: str, sequence: int, fingerprint: Fingerprint, duplicate_of: str | None,
                   bands: _Bands) -> tuple[list[bytes], list[bytes | int]]:
        """Keys and arguments of the add script."""
        id_key, id_field = self._id_slot(article_id)
        record_key, record_field = self._record_slot(sequence)
        record = _pack(article_id, fingerprint, duplicate_of)
        now = b"%.3f" % time.time() if self._ledger and self._ledger.enabled else b""
        ledger_key = self._ledger.key.encode() if self._ledger else self._prefix + b":retention-off"
        keys = [id_key, record_key, self._hashes_key(sequence), ledger_key, *bands.keys]
        return keys, [id_field, sequence, record_field, record, bands.fields, bands.hashes, now,
                      sequence >> RECORD_SHARD_SHIFT]

    def forget(self, shards: list[bytes]) -> None:
        """Retention: every article of these record shards, out of the id hash, its buckets and its shard."""
        for shard in (int(raw) for raw in shards):
            record_key = b"%s:rec:%d" % (self._prefix, shard)
            hashes_key = self._hashes_key(shard << RECORD_SHARD_SHIFT)
            records, hashes = self._redis.hgetall(record_key), self._redis.hgetall(hashes_key)
            pipe = self._redis.pipeline(transaction=False)
            for field, raw in records.items():
                sequence = (shard << RECORD_SHARD_SHIFT) | int(field)
                id_key, id_field = self._id_slot(_unpack(sequence, raw).article_id)
                bands = self._bands_of(np.frombuffer(hashes.get(field, b""), dtype=">u8").astype(np.uint64))
                self._forget(keys=[id_key, *bands.keys], args=[id_field, sequence, bands.fields], client=pipe)
            pipe.delete(record_key, hashes_key)
            pipe.execute()

    def _hashes_key(self, sequence: int) -> bytes:
        return b"%s:bands:%d" % (self._prefix, sequence >> RECORD_SHARD_SHIFT)

    def _id_slot(self, article_id: str) -> tuple[bytes, bytes]:
        digest = hashlib.blake2b(article_id.encode(), digest_size=16).digest()
        return b"%s:id:%d" % (self._prefix, int.from_bytes(digest[:2]) >> (16 - ID_SHARD_BITS)), digest

    def _bands(self, fingerprint: Fingerprint) -> _Bands:
        return self._bands_of(bucket_hashes(fingerprint))

    def _bands_of(self, hashes: npt.NDArray[np.uint64]) -> _Bands:
        shards = (hashes >> np.uint64(64 - BAND_SHARD_BITS)).tolist()
        # The hash's low bytes, big-endian, name the bucket inside its shard.
        big_endian = hashes.astype(">u8")
        fields = big_endian.view(np.uint8).reshape(-1, 8)[:, 8 - BAND_FIELD_BYTES:]
        return _Bands([b"%s:b:%d" % (self._prefix, shard) for shard in shards], fields.tobytes(),
                      big_endian.tobytes())

    def _record_slot(self, sequence: int) -> tuple[bytes, bytes]:
        return (b"%s:rec:%d" % (self._prefix, sequence >> RECORD_SHARD_SHIFT),
                b"%d" % (sequence & ((1 << RECORD_SHARD_SHIFT) - 1)))


# ---------------------------------------------------------------- SQLite
class SqliteLinkStore:
    def __init__(self, path: Path) -> None:
        self._db = connect(path)
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS lsh_docs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE,
                                                 sig BLOB, size INTEGER, dup TEXT);
            CREATE TABLE IF NOT EXISTS lsh_bands (band TEXT, id TEXT, PRIMARY KEY (band, id)) WITHOUT ROWID;
            """
        )

    def link(self, article_id: str, fingerprint: Fingerprint, choose_root: RootChooser) -> str | None:
        known = self.get_many([article_id])
        if known:
            return known[0].duplicate_of
        keys = all_band_keys(fingerprint)
        duplicate_of = choose_root(self.get_many(sorted(self.candidates(keys) - {article_id})))
        return self.add(article_id, keys, fingerprint, duplicate_of).duplicate_of

    def get_many(self, article_ids: list[str]) -> list[LinkRecord]:
        if not article_ids:
            return []
        marks = ",".join("?" * len(article_ids))
        rows = self._db.execute(f"SELECT id, sig, size, dup, seq FROM lsh_docs WHERE id IN ({marks})",
                                article_ids).fetchall()
        return [LinkRecord(row[0], np.frombuffer(row[1], dtype="<u4").astype(np.uint32), row[2], row[3], row[4])
                for row in rows]

    def candidates(self, band_keys: list[str]) -> set[str]:
        marks = ",".join("?" * len(band_keys))
        rows = self._db.execute(f"SELECT DISTINCT id FROM lsh_bands WHERE band IN ({marks})", band_keys)
        return {row[0] for row in rows}

    def add(self, article_id: str, band_keys: list[str], fingerprint: Fingerprint,
            duplicate_of: str | None) -> LinkRecord:
        with immediate(self._db) as db:
            db.execute("INSERT OR IGNORE INTO lsh_docs (id, sig, size, dup) VALUES (?, ?, ?, ?)",
                       (article_id, fingerprint.full.astype("<u4").tobytes(), fingerprint.shingle_count, duplicate_of))
            db.executemany("INSERT OR IGNORE INTO lsh_bands VALUES (?, ?)", [(key, article_id) for key in band_keys])
        return self.get_many([article_id])[0]
