/**
 * What a monitored field of a prediction document is: its role in the model (input, output, ground
 * truth, attribution) and the kind of its values. Shared by the field discovery in elastic/, the
 * profiles and the analyzer.
 */

/** `features.*` → feature; `prediction.*` → prediction; `actual.*` → target; `explanation.*` → explanation. */
export type FieldRole = 'feature' | 'prediction' | 'target' | 'explanation';
export type ValueKind = 'numeric' | 'categorical';
