graph [
  directed 0
  node [
    id 0
    label "europe"
    host_bandwidth_down "1 Gbit"
    host_bandwidth_up "1 Gbit"
  ]
  node [
    id 1
    label "north-america"
    host_bandwidth_down "1 Gbit"
    host_bandwidth_up "1 Gbit"
  ]
  node [
    id 2
    label "asia"
    host_bandwidth_down "1 Gbit"
    host_bandwidth_up "1 Gbit"
  ]
  edge [
    source 0
    target 0
    latency "5 ms"
    packet_loss 0.0
  ]
  edge [
    source 1
    target 1
    latency "5 ms"
    packet_loss 0.0
  ]
  edge [
    source 2
    target 2
    latency "5 ms"
    packet_loss 0.0
  ]
  edge [
    source 0
    target 1
    latency "40 ms"
    packet_loss 0.0
  ]
  edge [
    source 0
    target 2
    latency "60 ms"
    packet_loss 0.0
  ]
  edge [
    source 1
    target 2
    latency "50 ms"
    packet_loss 0.0
  ]
]
