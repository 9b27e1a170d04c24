import type { Prediction } from '@trainer/client';
import type { RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { preprocessImage } from '../../../src/domain/image-preprocessing';
import { api, unwrap } from '../api';
import type { DrawingTarget } from '../drawing';
import { percent } from '../format';

const size = 280;

/**
 * The 28x28 grey values (0..255, row by row) of a drawing, made as the server makes a photo sent to
 * the same model (the same function), or null when nothing is drawn.
 */
function greyValues(canvas: HTMLCanvasElement, preprocess: DrawingTarget['preprocess']): number[] | null {
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  const { data, width, height } = context.getImageData(0, 0, canvas.width, canvas.height);
  // White strokes on black: the red channel is the grey.
  const pixels = Uint8Array.from({ length: width * height }, (_, pixel) => data[pixel * 4] ?? 0);
  const input = preprocessImage({ width, height, pixels }, preprocess, [28, 28]);
  return input.some((value) => value > 0) ? Array.from(input) : null;
}

/** The model's answer to the drawing: its class and top probabilities, or how to start. */
function PredictionResult(props: {
  prediction: Prediction | null;
  error: string | null;
  nameOf: (label: number) => string;
  clear: () => void;
}) {
  const { prediction, nameOf } = props;
  return (
    <div id="draw-result" aria-live="polite" class="draw-result">
      {prediction ? (
        <>
          <p class="prediction">
            Prediction:{' '}
            <strong data-prediction={prediction.label}>{prediction.className ?? nameOf(prediction.label)}</strong>
          </p>
          <table>
            <caption class="visually-hidden">Top probabilities</caption>
            <tbody>
              {prediction.probabilities.map((entry) => (
                <tr key={entry.label}>
                  <th scope="row">{nameOf(entry.label)}</th>
                  <td>
                    <meter min={0} max={1} value={entry.probability} />
                  </td>
                  <td class="num">{percent(entry.probability, 1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : (
        <p class="muted">Draw with the mouse, a pen or a finger.</p>
      )}
      {props.error && <p class="error">{props.error}</p>}
      <button type="button" onClick={props.clear}>
        Clear
      </button>
    </div>
  );
}

/** Strokes drawn on `canvas` with a pointer, white on black; `onStroke` as they are drawn (at most every 150 ms) and when one ends. */
function usePointerStrokes(canvas: RefObject<HTMLCanvasElement>, onStroke: () => void, lastSent: RefObject<number>) {
  const drawing = useRef(false);
  const point = (event: PointerEvent) => {
    const element = canvas.current!;
    const box = element.getBoundingClientRect();
    return [((event.clientX - box.left) * size) / box.width, ((event.clientY - box.top) * size) / box.height] as const;
  };
  const onDown = (event: PointerEvent) => {
    drawing.current = true;
    canvas.current?.setPointerCapture(event.pointerId);
    const context = canvas.current!.getContext('2d')!;
    const [x, y] = point(event);
    context.beginPath();
    context.moveTo(x, y);
  };
  const onMove = (event: PointerEvent) => {
    if (!drawing.current) return;
    const context = canvas.current!.getContext('2d')!;
    const [x, y] = point(event);
    context.strokeStyle = '#fff';
    context.lineWidth = 22;
    context.lineCap = 'round';
    context.lineJoin = 'round';
    context.lineTo(x, y);
    context.stroke();
    // As you draw: at most every 150 ms, one request at a time.
    if (performance.now() - (lastSent.current ?? 0) > 150) onStroke();
  };
  const onUp = () => {
    drawing.current = false;
    onStroke();
  };
  return { onPointerDown: onDown, onPointerMove: onMove, onPointerUp: onUp, onPointerCancel: onUp };
}

/**
 * A canvas to draw what `target` says (a digit, an image) on, white on black; the model's prediction
 * and top probabilities update as you draw.
 */
export function DrawingCanvas({ jobId, target }: { jobId: string; target: DrawingTarget }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const pending = useRef(false);
  const lastSent = useRef(0);
  const [prediction, setPrediction] = useState<Prediction | null>(null);
  const [error, setError] = useState<string | null>(null);

  const nameOf = (label: number) => target.classNames[label] ?? String(label);

  const clear = () => {
    const context = canvas.current?.getContext('2d');
    if (!context) return;
    context.fillStyle = '#000';
    context.fillRect(0, 0, size, size);
    setPrediction(null);
  };
  useEffect(clear, []);

  const predict = async () => {
    if (!canvas.current || pending.current) return;
    const grey = greyValues(canvas.current, target.preprocess);
    if (!grey) return;
    const input = grey.map(target.rawValue);
    pending.current = true;
    lastSent.current = performance.now();
    try {
      const answer = await unwrap(
        api.POST('/jobs/{id}/predict', { params: { path: { id: jobId } }, body: { inputs: [input], topK: 3 } }),
      );
      setPrediction(answer.predictions[0] ?? null);
      setError(null);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      pending.current = false;
    }
  };
  const strokes = usePointerStrokes(canvas, () => void predict(), lastSent);

  return (
    <div class="draw">
      <h3 id="draw-heading">{target.subject === 'digit' ? 'Draw a digit' : 'Draw an image'}</h3>
      <div class="draw-row">
        <canvas
          ref={canvas}
          width={size}
          height={size}
          class="draw-canvas"
          aria-labelledby="draw-heading"
          aria-describedby="draw-result"
          {...strokes}
        />
        <PredictionResult prediction={prediction} error={error} nameOf={nameOf} clear={clear} />
      </div>
    </div>
  );
}
