/**
 * The `effect/Metric` registry as OpenTelemetry metric data, for `@opentelemetry/exporter-prometheus`'s
 * serializer. It translates as `@effect/opentelemetry`'s metric producer does (counters as sums,
 * histograms with per-bucket counts, frequencies and summaries as that producer shapes them), with two
 * differences that a scrape of 1,000 buckets needs:
 *
 * - What does not change between scrapes is made once per series, not at every collect: a series'
 *   attributes and its metric's descriptor are kept by metric key (the registry hands out the same key
 *   object for a series every time). `@effect/opentelemetry`'s producer rebuilt both for every series at
 *   every collect, most of a 1,000-bucket scrape's time and much of its garbage.
 * - No unit: the Prometheus text format (0.0.4) has no `# UNIT` line (an OpenMetrics directive), and the
 *   unit that producer gave every metric, "1" unless tagged otherwise, was wrong for seconds and planck.
 *   Units are in the metric names (`_seconds`, `_planck`), as Prometheus's conventions want.
 *
 * @internal
 */
import { ValueType } from "@opentelemetry/api"
import type * as Resources from "@opentelemetry/resources"
import {
  AggregationTemporality,
  type DataPoint,
  DataPointType,
  type Histogram,
  type MetricData,
  type MetricDescriptor,
  type ResourceMetrics
} from "@opentelemetry/sdk-metrics"
import * as Metric from "effect/Metric"
import type * as MetricKey from "effect/MetricKey"
import * as MetricKeyType from "effect/MetricKeyType"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"

type HrTime = [number, number]

/** What a series keeps from one collect to the next. */
interface Series {
  readonly name: string
  readonly attributes: Record<string, string>
  readonly descriptor: MetricDescriptor
  /** Counters are monotonic sums; gauges and up-down counters (not incremental) are not. */
  readonly monotonic: boolean
}

const SCOPE = { name: "@checkpointer/operator" }

const dataPoint = <T>(
  startTime: HrTime,
  endTime: HrTime,
  attributes: Record<string, string>,
  value: T,
  extra?: Record<string, string>
): DataPoint<T> => ({
  startTime,
  endTime,
  attributes: extra === undefined ? attributes : { ...attributes, ...extra },
  value
})

const hrTime = (millis: number): HrTime => [Math.floor(millis / 1000), (millis % 1000) * 1_000_000]

/** @internal */
export class RegistryProducer {
  private readonly series = new WeakMap<MetricKey.MetricKey.Untyped, Series>()
  private readonly startTimes = new Map<string, HrTime>()

  constructor(
    readonly resource: Resources.Resource,
    /** Series left out, by metric name. */
    readonly exclude: (name: string) => boolean = () => false
  ) {}

  private seriesOf(key: MetricKey.MetricKey.Untyped): Series {
    let series = this.series.get(key)
    if (series === undefined) {
      const attributes: Record<string, string> = {}
      for (const label of key.tags) attributes[label.key] = label.value
      series = {
        name: key.name,
        attributes,
        descriptor: {
          name: key.name,
          description: Option.getOrElse(key.description, () => ""),
          unit: "",
          valueType: "bigint" in key.keyType && key.keyType.bigint === true ? ValueType.INT : ValueType.DOUBLE
        },
        monotonic: MetricKeyType.isFrequencyKey(key.keyType) ||
          (MetricKeyType.isCounterKey(key.keyType) && key.keyType.incremental)
      }
      this.series.set(key, series)
    }
    return series
  }

  private startTimeOf(name: string, now: HrTime): HrTime {
    const known = this.startTimes.get(name)
    if (known !== undefined) return known
    this.startTimes.set(name, now)
    return now
  }

  /** The registry now. */
  collect(): ResourceMetrics {
    const snapshot = Metric.unsafeSnapshot()
    const endTime = hrTime(Date.now())
    const byName = new Map<string, MetricData>()
    const metrics: Array<MetricData> = []
    const add = (name: string, make: () => MetricData) => {
      let data = byName.get(name)
      if (data === undefined) {
        data = make()
        byName.set(name, data)
        metrics.push(data)
      }
      return data.dataPoints as Array<DataPoint<unknown>>
    }
    for (const { metricKey, metricState } of snapshot) {
      if (this.exclude(metricKey.name)) continue
      const series = this.seriesOf(metricKey)
      const { attributes, descriptor, name } = series
      const startTime = this.startTimeOf(name, endTime)
      if (MetricState.isCounterState(metricState)) {
        add(name, () => ({
          dataPointType: DataPointType.SUM,
          descriptor,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          isMonotonic: series.monotonic,
          dataPoints: []
        })).push(dataPoint(startTime, endTime, attributes, Number(metricState.count)))
      } else if (MetricState.isGaugeState(metricState)) {
        add(name, () => ({
          dataPointType: DataPointType.GAUGE,
          descriptor,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPoints: []
        })).push(dataPoint(startTime, endTime, attributes, Number(metricState.value)))
      } else if (MetricState.isHistogramState(metricState)) {
        // Effect's buckets are cumulative and end with +Inf; OpenTelemetry's are per bucket, their
        // boundaries finite.
        const size = metricState.buckets.length
        const boundaries = new Array<number>(size - 1)
        const counts = new Array<number>(size)
        let previous = 0
        for (let i = 0; i < size; i++) {
          const [boundary, cumulative] = metricState.buckets[i]!
          if (i < size - 1) boundaries[i] = boundary
          counts[i] = cumulative - previous
          previous = cumulative
        }
        const histogram: Histogram = {
          buckets: { boundaries, counts },
          count: metricState.count,
          min: metricState.min,
          max: metricState.max,
          sum: metricState.sum
        }
        add(name, () => ({
          dataPointType: DataPointType.HISTOGRAM,
          descriptor,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPoints: []
        })).push(dataPoint(startTime, endTime, attributes, histogram))
      } else if (MetricState.isFrequencyState(metricState)) {
        const points = add(name, () => ({
          dataPointType: DataPointType.SUM,
          descriptor,
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          isMonotonic: true,
          dataPoints: []
        }))
        for (const [word, count] of metricState.occurrences) {
          points.push(dataPoint(startTime, endTime, attributes, count, { key: word }))
        }
      } else if (MetricState.isSummaryState(metricState)) {
        const gauge = (suffix: string, monotonic: boolean) =>
          add(`${name}_${suffix}`, () => ({
            dataPointType: DataPointType.SUM,
            descriptor: { ...descriptor, name: `${name}_${suffix}` },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            isMonotonic: monotonic,
            dataPoints: []
          }))
        const quantiles = gauge("quantiles", false)
        quantiles.push(dataPoint(startTime, endTime, attributes, metricState.min, { quantile: "min" }))
        for (const [quantile, value] of metricState.quantiles) {
          quantiles.push(dataPoint(startTime, endTime, attributes, Option.getOrElse(value, () => 0), {
            quantile: quantile.toString()
          }))
        }
        quantiles.push(dataPoint(startTime, endTime, attributes, metricState.max, { quantile: "max" }))
        gauge("count", true).push(dataPoint(startTime, endTime, attributes, metricState.count))
        gauge("sum", true).push(dataPoint(startTime, endTime, attributes, metricState.sum))
      }
    }
    return { resource: this.resource, scopeMetrics: [{ scope: SCOPE, metrics }] }
  }
}
