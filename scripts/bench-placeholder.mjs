// What `npm run bench` does not measure yet says so, instead of inventing numbers.
console.log("checkpointer bench: round throughput (1,000 buckets) and loop memory are not measured yet.")
