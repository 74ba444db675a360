/**
 * What a monitored field of a prediction document is: its role in the model (input, output, ground
 * truth, attribution) and the kind of its values. Shared by the field discovery in elastic/, the
 * profiles and the analyzer.
 */

/** `features.*` → feature; `prediction.*` → prediction; `actual.*` → target; `explanation.*` → explanation. */
export type FieldRole = 'feature' | 'prediction' | 'target' | 'explanation';
export type ValueKind = 'numeric' | 'categorical';

/**
 * Outputs that are categorical by their role: the prediction template maps the predicted and the
 * true label `keyword` (index-templates/component/mlmon-prediction@mappings.json), so a label of 0/1
 * is the category "0"/"1" in Elasticsearch, and a reference must profile it as one too.
 */
export const CATEGORICAL_OUTPUTS: readonly string[] = ['prediction.label', 'actual.label'];
