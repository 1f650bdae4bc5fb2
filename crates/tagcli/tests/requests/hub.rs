//! History and automatic rollback over 100,000 tags on the Hub API emulation: at most 3 pages,
//! the same answer as a full read; a Hub outage falls back to the registry's own listing.
