import { invalidAttributes } from '../../components/field';
import { activations, layerTypes, paddings } from '../../domain';
import type { LayerRow, LayerType } from './form-state';
import type { Issues } from './issues';

type TextField = 'units' | 'rate' | 'filters' | 'kernelSize' | 'strides' | 'poolSize' | 'momentum' | 'epsilon';
type ChoiceField = 'activation' | 'padding';

type FieldOf =
  | { field: TextField; label: string; inputMode: 'numeric' | 'decimal'; size: number; hint?: string }
  | { field: ChoiceField; label: string; options: readonly string[] };

const activation: FieldOf = { field: 'activation', label: 'Activation', options: activations };
const padding: FieldOf = { field: 'padding', label: 'Padding', options: paddings };
const windowField = (field: 'kernelSize' | 'poolSize' | 'strides', label: string, hint?: string): FieldOf => ({
  field,
  label,
  inputMode: 'numeric',
  size: 4,
  ...(hint ? { hint } : {}),
});
const poolFields = [windowField('poolSize', 'Pool size'), windowField('strides', 'Strides', 'pool'), padding];

/** The fields each layer type has, in the order the spec lists them. */
const fieldsOf: Record<LayerType, FieldOf[]> = {
  dense: [{ field: 'units', label: 'Units', inputMode: 'numeric', size: 6 }, activation],
  dropout: [{ field: 'rate', label: 'Rate', inputMode: 'decimal', size: 5 }],
  conv2d: [
    { field: 'filters', label: 'Filters', inputMode: 'numeric', size: 5 },
    windowField('kernelSize', 'Kernel'),
    windowField('strides', 'Strides', '1'),
    padding,
    activation,
  ],
  maxPool2d: poolFields,
  avgPool2d: poolFields,
  flatten: [],
  batchNormalization: [
    { field: 'momentum', label: 'Momentum', inputMode: 'decimal', size: 5 },
    { field: 'epsilon', label: 'Epsilon', inputMode: 'decimal', size: 8 },
  ],
};

export interface LayerFieldsProps {
  row: LayerRow;
  index: number;
  issues: Issues;
  change: (patch: Partial<LayerRow>) => void;
}

/** The layer's type, then the fields of that type. */
export function LayerFields({ row, index, issues, change }: LayerFieldsProps) {
  const path = `model.layers.${index}`;
  return (
    <>
      <label>
        Layer {index + 1} type
        <select value={row.type} onChange={(event) => change({ type: event.currentTarget.value as LayerType })}>
          {layerTypes.map((type) => (
            <option key={type} value={type}>
              {type}
            </option>
          ))}
        </select>
      </label>
      {fieldsOf[row.type].map((field) => (
        <label key={field.field}>
          {field.label}
          {'options' in field ? (
            <select value={row[field.field]} onChange={(event) => change({ [field.field]: event.currentTarget.value })}>
              {field.options.map((name) => (
                <option key={name}>{name}</option>
              ))}
            </select>
          ) : (
            <input
              name={`${path}.${field.field}`}
              inputMode={field.inputMode}
              size={field.size}
              placeholder={field.hint}
              value={row[field.field]}
              onInput={(event) => change({ [field.field]: event.currentTarget.value })}
              {...invalidAttributes(`${path}.${field.field}-error`, issues.get(`${path}.${field.field}`))}
            />
          )}
        </label>
      ))}
    </>
  );
}
