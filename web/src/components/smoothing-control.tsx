/** The smoothing slider of the loss charts: the weight of TensorBoard's exponential moving average. */
export function SmoothingControl({ value, onChange }: { value: number; onChange: (value: number) => void }) {
  return (
    <label class="inline">
      Smoothing
      <input
        type="range"
        min={0}
        max={0.99}
        step={0.01}
        value={value}
        onInput={(event) => onChange(Number(event.currentTarget.value))}
      />
      <output>{value.toFixed(2)}</output>
    </label>
  );
}
