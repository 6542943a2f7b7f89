graph [
  directed 0
  node [
    id 0
    label "europe"
    host_bandwidth_down "100 Mbit"
    host_bandwidth_up "50 Mbit"
  ]
  node [
    id 1
    label "north-america"
    host_bandwidth_down "200 Mbit"
    host_bandwidth_up "100 Mbit"
  ]
  node [
    id 2
    label "asia"
    host_bandwidth_down "50 Mbit"
    host_bandwidth_up "20 Mbit"
  ]
  edge [
    source 0
    target 0
    latency "10 ms"
    packet_loss 0.0
  ]
  edge [
    source 1
    target 1
    latency "10 ms"
    packet_loss 0.0
  ]
  edge [
    source 2
    target 2
    latency "20 ms"
    packet_loss 0.001
  ]
  edge [
    source 0
    target 1
    latency "45 ms"
    packet_loss 0.0
  ]
  edge [
    source 0
    target 2
    latency "110 ms"
    packet_loss 0.002
  ]
  edge [
    source 1
    target 2
    latency "90 ms"
    packet_loss 0.001
  ]
]
