import DeltaFormat

/// Fleet-side planning: which (from, to) deltas a release needs. Filled in by the fleet workflow work.
public enum DeltaPlanning {}
