import DeltaFormat

/// Fleet-side planning: which (from, to) deltas a release needs, the CI deltas file, the
/// delta-stats devices read, and the part-size benchmark's model and chart. Pure values and
/// text; no repository access, so every piece is unit-tested on hand-made inputs.
public enum DeltaPlanning {}
