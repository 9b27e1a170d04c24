import { useState } from 'preact/hooks';
import { formatShape, layerTypes, type ShapeWalk } from '../../domain';
import { integer } from '../../format';
import { layerRow, type LayerRow, type LayerType } from './form-state';
import { layerFields, type Issues } from './issues';
import { LayerFields } from './layer-fields';
import { PathError } from './fields';

export interface LayerEditorProps {
  layers: LayerRow[];
  issues: Issues;
  /** The layers' shapes as the server will walk them. */
  walk: ShapeWalk;
  update: (layers: LayerRow[]) => void;
}

/** What a layer makes of its input, as the walk found it: its output shape and its parameters. */
function LayerShape({ walk, index }: { walk: ShapeWalk; index: number }) {
  const shape = walk.ok ? walk.layers[index] : undefined;
  if (!shape || !shape.output.every(Number.isFinite) || !Number.isFinite(shape.parameters)) return null;
  return (
    <span class="layer-shape small muted" data-output={shape.output.join('x')}>
      → {formatShape(shape.output)}
      {shape.parameters > 0 && `, ${integer(shape.parameters)} parameters`}
    </span>
  );
}

function MoveButtons({ index, layers, update }: { index: number } & Pick<LayerEditorProps, 'layers' | 'update'>) {
  const move = (by: number) => {
    const next = layers.slice();
    const [layer] = next.splice(index, 1);
    next.splice(index + by, 0, layer!);
    update(next);
  };
  return (
    <span class="layer-buttons">
      <button type="button" disabled={index === 0} onClick={() => move(-1)} aria-label={`Move layer ${index + 1} up`}>
        ↑
      </button>
      <button
        type="button"
        disabled={index === layers.length - 1}
        onClick={() => move(1)}
        aria-label={`Move layer ${index + 1} down`}
      >
        ↓
      </button>
      <button
        type="button"
        disabled={layers.length === 1}
        onClick={() => update(layers.filter((_, at) => at !== index))}
        aria-label={`Remove layer ${index + 1}`}
      >
        ✕
      </button>
    </span>
  );
}

/** Adds a layer of the chosen type before the output layer. */
function AddLayer({ layers, update }: Pick<LayerEditorProps, 'layers' | 'update'>) {
  const [type, setType] = useState<LayerType>('dense');
  return (
    <div class="add-layer">
      <label>
        New layer
        <select value={type} onChange={(event) => setType(event.currentTarget.value as LayerType)}>
          {layerTypes.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>{' '}
      <button type="button" onClick={() => update([...layers.slice(0, -1), layerRow(type), ...layers.slice(-1)])}>
        Add layer
      </button>
    </div>
  );
}

/** The model's layers: each one's fields, what it makes of its input, and the issues about it. */
export function LayerEditor(props: LayerEditorProps & { input: string }) {
  const { layers, issues, walk } = props;
  const change = (index: number, patch: Partial<LayerRow>) =>
    props.update(layers.map((layer, at) => (at === index ? { ...layer, ...patch } : layer)));
  return (
    <fieldset class={`layers ${issues.has('model.layers') ? 'has-error' : ''}`}>
      <legend>Layers (input: {props.input})</legend>
      <PathError path="model.layers" issues={issues} />
      <ol>
        {layers.map((layer, index) => {
          const path = `model.layers.${index}`;
          return (
            <li key={layer.key} class="layer-row" data-layer={index} data-type={layer.type}>
              <LayerFields row={layer} index={index} issues={issues} change={(patch) => change(index, patch)} />
              <MoveButtons index={index} layers={layers} update={props.update} />
              <LayerShape walk={walk} index={index} />
              {[path, ...layerFields.map((field) => `${path}.${field}`)].map((id) => (
                <PathError key={id} path={id} issues={issues} />
              ))}
            </li>
          );
        })}
      </ol>
      <AddLayer layers={layers} update={props.update} />
    </fieldset>
  );
}
